"""Work queues: my drafts (caseworker), to review, to approve, to pay, and all cases in scope.

Every list goes through ``cases.selectors.queue`` (region-scoped, each filter served by an index)
and is paged by keyset (``?after=<id>`` / ``?before=<id>``): no COUNT over the table, so it stays
fast with a million cases; the page says whether there is more, not how many pages.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.roles.domain import Role

from .. import selectors
from ..access import CASE_READ_ROLES, holds_anywhere
from ..forms import QueueFilterForm
from ..models import ApplicationState as S
from .common import keyset_page, region_choices

#: name → (tab label, role, states offered in the filter)
TABS = {
    "my_drafts": (gettext_lazy("My drafts"), Role.CASEWORKER),
    "to_review": (gettext_lazy("To review"), Role.REVIEWER),
    "to_approve": (gettext_lazy("To approve"), Role.APPROVER),
    "to_pay": (gettext_lazy("To pay"), Role.PAYMENT_OFFICER),
    "assigned": (gettext_lazy("Assigned to me"), (Role.REVIEWER, Role.APPROVER)),
}
TITLES = {
    "my_drafts": gettext_lazy("My drafts and returned cases"),
    "to_review": gettext_lazy("Cases to review"),
    "to_approve": gettext_lazy("Cases to approve"),
    "to_pay": gettext_lazy("Approved cases to pay"),
    "assigned": gettext_lazy("Cases assigned to me"),
    "": gettext_lazy("All cases"),
}


def queue_tabs(user) -> list[dict]:
    """The queues the user has a role for, plus all cases."""
    base = reverse("cases:queue")
    tabs = [{"key": key, "label": label, "url": f"{base}?queue={key}"}
            for key, (label, role) in TABS.items() if holds_anywhere(user, _roles(role))]
    if holds_anywhere(user, CASE_READ_ROLES):
        tabs.append({"key": "", "label": _("All cases"), "url": base})
    return tabs


def _roles(role) -> list[str]:
    return list(role) if isinstance(role, tuple) else [role]


@login_required
def queue(request):
    user = request.user
    name = request.GET.get("queue") or ""
    if name and name not in selectors.QUEUES:
        name = ""
    if name:
        role = TABS[name][1]
        if not holds_anywhere(user, _roles(role)):
            raise PermissionDenied(_("This queue is for the %(role)s.")
                                   % {"role": "、".join(str(dict(Role.choices)[r]) for r in _roles(role))})
        scope_roles = _roles(role)
        states = list(selectors.QUEUES[name][2])
    else:
        if not holds_anywhere(user, CASE_READ_ROLES):
            raise PermissionDenied(_("The case list is for the bureau's staff."))
        scope_roles = list(CASE_READ_ROLES)
        states = list(S.values)
    regions = region_choices(user, scope_roles)
    form = QueueFilterForm(request.GET or None, states=states, regions=regions)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.queue(
        user, queue=name or None, state=filters.get("state") or None, region=filters.get("region") or None,
        year=filters.get("year"), q=filters.get("q") or "",
    )
    page = keyset_page(request, qs, ordering=selectors.queue_ordering(name or None))
    total, estimated = selectors.count_estimate(qs)
    rows = list(page)
    overdue = selectors.stage_time_limits(rows)
    assigned = selectors.assignees(rows)
    for app in rows:
        app.overdue = overdue.get(app.pk)
        app.assignee = assigned.get(app.pk)
    return render(request, "cases/queue.html", {
        "form": form,
        "page": page,
        "total": total,
        "estimated": estimated,
        "bulk_actions": _bulk_actions(user, name),
        "queue": name,
        "title": TITLES[name],
        "tabs": queue_tabs(user),
        "searching": bool(filters.get("q")),
        "filtered": any(filters.get(k) for k in ("q", "state", "region", "year")),
    })


#: queue → the actions its list can take on many cases at once (each case still through
#: workflow.transition: role, region, state, four eyes and assignment per case)
BULK = {"to_review": ("start_review",), "to_approve": ("approve",), "assigned": ("start_review", "approve")}
BULK_LIMIT = 100


def _bulk_actions(user, name: str) -> list[tuple[str, str]]:
    from ..services import workflow

    roles = {"start_review": Role.REVIEWER, "approve": Role.APPROVER}
    return [(a, workflow.ACTION_LABELS[a]) for a in BULK.get(name, ()) if holds_anywhere(user, [roles[a]])]


@login_required
def queue_bulk(request):
    """Take one action on the cases ticked in a queue; each case is tried on its own and the page
    says, per case, whether it moved or why not."""
    from django.http import HttpResponseNotAllowed

    from ..services import workflow

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    user = request.user
    action = request.POST.get("action", "")
    if action not in {"start_review", "approve"}:
        raise PermissionDenied(_("Unknown action “%(action)s”.") % {"action": action})
    ids = []
    for raw in request.POST.getlist("ids")[:BULK_LIMIT]:
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    visible = {a.pk: a for a in selectors.visible_applications(user).filter(pk__in=ids).select_related("person")}
    results = []
    for pk in ids:
        app = visible.get(pk)
        if app is None:
            results.append({"number": f"#{pk}", "ok": False, "message": _("Case not found.")})
            continue
        try:
            moved = workflow.transition(acting_user=user, application_id=pk, action=action, expected_state=app.state)
        except workflow.TransitionError as exc:
            results.append({"app": app, "number": app.number, "ok": False, "message": exc.message})
        else:
            results.append({"app": moved, "number": moved.number, "ok": True, "message": moved.get_state_display()})
    return render(request, "cases/bulk_result.html", {
        "action_label": workflow.ACTION_LABELS[action], "results": results,
        "done": sum(1 for r in results if r["ok"]), "failed": sum(1 for r in results if not r["ok"]),
        "back": reverse("cases:queue") + (f"?queue={request.POST['queue']}" if request.POST.get("queue") in TABS else ""),
    })
