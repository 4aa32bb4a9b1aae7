"""Assign or transfer a case (分办转办): the form on the case page posts here."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.permissions import permission_required
from portal.web import refusals

from .. import selectors
from ..services import assignment
from .common import found


def panel(user, app) -> dict | None:
    """What the case page shows about the assignment: who has the case, and the form for a
    supervisor or the assignee (None at a stage that is not assigned)."""
    stage = assignment.stage_of(app.state)
    if stage is None:
        return None
    current = assignment.assignee_of(app)
    can = assignment.may_assign(user, app)
    return {
        "stage": assignment.STAGE_LABELS[stage],
        "assignee": current,
        "is_me": current is not None and current.pk == user.pk,
        "can_assign": can,
        "candidates": [u for u in assignment.candidates(app) if current is None or u.pk != current.pk] if can else [],
    }


@require_POST
@permission_required("cases.view_case")
def case_assign(request, pk: int):
    user = request.user
    app = found(selectors.get_application, user, pk)
    try:
        assignee_id = int(request.POST.get("assignee") or 0)
    except ValueError:
        assignee_id = 0
    with refusals(request=request) as outcome:
        assignment.assign(acting_user=user, application_id=app.pk, assignee_id=assignee_id,
                          reason=request.POST.get("reason", ""))
    if outcome.ok:
        app.refresh_from_db()
        current = assignment.assignee_of(app)
        messages.success(request, _("Case %(number)s is now assigned to %(name)s.")
                         % {"number": app.number, "name": current.display_name if current else "—"})
    return redirect("cases:case", app.pk)
