"""Work queues: my drafts (caseworker), to review, to approve, to pay, and all cases in scope.

Every list goes through ``cases.selectors.queue`` (region-scoped, each filter served by an index),
then ``cases.filters.CaseFilter`` (the same filter as the API), then ``portal.lists`` (sorting by
column, keyset pages in the default order, a total that is exact or PostgreSQL's estimate past
10 000, the Excel export of the current filter, recorded).
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import lists
from portal.lists import Column, Sorting
from portal.permissions import allowed, permission_required, roles_for
from portal.roles.domain import Role

from .. import selectors
from ..access import CASE_READ_ROLES
from ..filters import CaseFilter
from ..models import ApplicationState as S
from .common import region_choices, search_data, search_redirect

#: name → (tab label, the permission it needs: portal.permissions)
TABS = {
    "my_drafts": (gettext_lazy("My drafts"), "cases.view_drafts"),
    "to_review": (gettext_lazy("To review"), "cases.review_case"),
    "to_approve": (gettext_lazy("To approve"), "cases.approve_case"),
    "to_pay": (gettext_lazy("To pay"), "cases.pay"),
    "assigned": (gettext_lazy("Assigned to me"), "cases.view_assigned"),
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
            for key, (label, permission) in TABS.items() if allowed(user, permission)]
    if allowed(user, "cases.read_cases"):
        tabs.append({"key": "", "label": _("All cases"), "url": base})
    return tabs


#: the case list's sortable columns (each index-served or cheap within a queue's rows); id breaks ties
CASE_COLUMNS = [
    Column("number", gettext_lazy("case number"), ("number",)),
    Column("person", gettext_lazy("person"), ("person__name",)),
    Column("region", gettext_lazy("region"), ("region_id",)),
    Column("year", gettext_lazy("year"), ("year",)),
    Column("state", gettext_lazy("state"), ("state",)),
    Column("since", gettext_lazy("since"), ("state_changed_at",)),
    Column("amount", gettext_lazy("amount approved"), ("amount_approved",)),
]


def _sorting(name: str) -> Sorting:
    return Sorting(CASE_COLUMNS, default=(selectors.queue_ordering(name or None),))


def _queue_of(request) -> tuple[str, list[str], list[str]]:
    """(queue name or "", the roles whose scope applies, the states offered) — 403 without the role."""
    user = request.user
    name = request.GET.get("queue") or request.POST.get("queue") or ""
    if name and name not in selectors.QUEUES:
        name = ""
    if name:
        permission = TABS[name][1]
        scope_roles = sorted(roles_for(permission))
        if not allowed(user, permission):
            raise PermissionDenied(_("This queue is for the %(role)s.")
                                   % {"role": "、".join(str(dict(Role.choices)[r]) for r in scope_roles)})
        return name, scope_roles, list(selectors.QUEUES[name][2])
    if not allowed(user, "cases.read_cases"):
        raise PermissionDenied(_("The case list is for the bureau's staff."))
    return "", list(CASE_READ_ROLES), list(S.values)


def _case_filter(request, name: str, scope_roles) -> tuple[CaseFilter, object]:
    """The case list's filter over the queue's region-scoped cases (scoping first, then the filter)."""
    search = search_data(request)
    filterset = CaseFilter(search.data, queryset=selectors.queue(request.user, queue=name or None), request=request,
                           full_number_ok=search.full_number_ok, regions=region_choices(request.user, scope_roles))
    return filterset, search


@permission_required("cases.view_queue")
def queue(request):
    user = request.user
    name, scope_roles, states = _queue_of(request)
    if request.method == "POST":  # the search box posts (a full identity number stays out of the URL)
        return search_redirect(request, reverse("cases:queue"))
    filterset, search = _case_filter(request, name, scope_roles)
    if search.expired:
        messages.info(request, _("That search has expired: type the identity number again."))
    # a refused search (a full number in the address) or an expired one shows no rows
    qs = filterset.qs.none() if "q" in filterset.form.errors or search.expired else filterset.qs
    listing = lists.listing(request, qs, sorting=_sorting(name), export_url=reverse("cases:queue_export"))
    rows = list(listing.page)
    overdue = selectors.stage_time_limits(rows)
    assigned = selectors.assignees(rows)
    for app in rows:
        app.overdue = overdue.get(app.pk)
        app.assignee = assigned.get(app.pk)
    filters = filterset.cleaned
    labels = dict(S.choices)
    return render(request, "cases/queue.html", {
        "filterset": filterset,
        "form": filterset.form,
        # a refused search (a full number in the address) is not echoed, not even in the language form
        "shown_q": "" if "q" in filterset.form.errors else search.shown_q,
        "language_next": request.path if "q" in filterset.form.errors else None,
        "state_choices": [(st, labels[st]) for st in states],
        "chosen_states": filterset.data.getlist("state"),
        "listing": listing,
        "page": listing.page,
        "total": listing.total,
        "estimated": listing.estimated,
        "bulk_actions": _bulk_actions(user, name),
        "queue": name,
        "title": TITLES[name],
        "tabs": queue_tabs(user),
        "searching": bool(filters.get("q")),
        "filtered": any(filters.get(k) for k in ("q", "state", "region", "year", "person")),
    }, status=400 if filterset.form.errors else 200)


@permission_required("cases.view_queue")
def queue_export(request):
    """The case list of the current queue and filter as an Excel file (masked identity numbers),
    recorded in the export log."""
    name, scope_roles, _states = _queue_of(request)
    filterset, _search = _case_filter(request, name, scope_roles)
    back = reverse("cases:queue") + lists_query(request)
    if not filterset.is_valid():
        return redirect(back)
    headers = [_("case number"), _("person"), _("identity number"), _("region"), _("year"), _("state"), _("since"),
               _("registered by"), _("amount approved")]

    def row(app):
        return [app.number, app.person.name, app.person.masked_id_number, app.region.name, app.year,
                app.get_state_display(), timezone.localtime(app.state_changed_at).replace(tzinfo=None)
                if app.state_changed_at else None, app.created_by.display_name if app.created_by else "",
                app.amount_approved]

    try:
        return lists.export(request, filterset.qs, list_name=f"cases_{name}" if name else "cases",
                            sorting=_sorting(name), headers=headers, row=row, title=str(TITLES[name]),
                            filters={**({"queue": name} if name else {}), **lists.describe_filters(filterset.cleaned)})
    except lists.TooManyRows as exc:
        messages.error(request, _("The list holds %(n)s rows; an export takes at most %(limit)s. Narrow the filter.")
                       % {"n": exc.count, "limit": lists.EXPORT_LIMIT})
        return redirect(back)


def lists_query(request) -> str:
    query = request.GET.urlencode()
    return f"?{query}" if query else ""


#: queue → the actions its list can take on many cases at once (each case still through
#: workflow.transition: role, region, state, four eyes and assignment per case)
BULK = {"to_review": ("start_review",), "to_approve": ("approve",), "assigned": ("start_review", "approve")}
BULK_LIMIT = 100


def _bulk_actions(user, name: str) -> list[tuple[str, str]]:
    from ..services import workflow

    needs = {"start_review": "cases.review_case", "approve": "cases.approve_case"}
    return [(a, workflow.ACTION_LABELS[a]) for a in BULK.get(name, ()) if allowed(user, needs[a])]


@permission_required("cases.view_queue")
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
