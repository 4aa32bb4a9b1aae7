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
    rows = list(page)
    overdue = selectors.stage_time_limits(rows)
    assigned = selectors.assignees(rows)
    for app in rows:
        app.overdue = overdue.get(app.pk)
        app.assignee = assigned.get(app.pk)
    return render(request, "cases/queue.html", {
        "form": form,
        "page": page,
        "queue": name,
        "title": TITLES[name],
        "tabs": queue_tabs(user),
        "searching": bool(filters.get("q")),
        "filtered": any(filters.get(k) for k in ("q", "state", "region", "year")),
    })
