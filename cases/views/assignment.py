"""Assign or transfer a case (分办转办): the form on the case page posts here."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
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


# --- The time each stage may take, per region (分办转办: cases waiting past it are flagged) ------------


@permission_required("cases.set_time_limits")
def time_limits(request):
    """The days a case may wait at each stage in a region, set by its supervisors and policy
    administrators; empty: no limit (none is invented). A limit set higher up (the city, the
    province) applies to the regions below that set none, and is shown there."""
    from django.shortcuts import render

    from portal.roles.scoping import scoped_regions

    from ..models_assignment import WAITING_STATES, StageTimeLimit

    user = request.user
    regions = list(scoped_regions(user, roles=list(assignment.TIME_LIMIT_ROLES)).order_by("code")[:500])
    codes = {r.code for r in regions}
    wanted = request.POST.get("region") or request.GET.get("region") or ""
    region = next((r for r in regions if r.code == wanted), None) or (regions[0] if regions else None)
    if region is None:
        raise Http404
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        limits = {state: (request.POST.get(f"days-{state}", ""), request.POST.get(f"basis-{state}", ""))
                  for state, _label in WAITING_STATES}
        with refusals(request=None) as outcome:
            changed = assignment.set_stage_time_limits(acting_user=user, region_code=region.code, limits=limits)
        if outcome.ok:
            messages.success(request, _("Time limits of %(region)s saved (%(n)d stages changed).")
                             % {"region": region.name, "n": changed})
            return redirect(f"{request.path}?region={region.code}")
        if isinstance(outcome.error, ValidationError) and hasattr(outcome.error, "message_dict"):
            errors = outcome.error.message_dict
        else:
            messages.error(request, "；".join(outcome.messages))
    own = {lim.state: lim for lim in StageTimeLimit.objects.filter(region=region)}
    above_codes = [c for c in (region.code[:4] + "00", region.code[:2] + "0000") if c != region.code]
    above = {}
    for lim in StageTimeLimit.objects.filter(region_id__in=above_codes).select_related("region"):
        # the nearest region up the tree wins, as the queues read it
        if lim.state not in above or len(lim.region_id.rstrip("0")) > len(above[lim.state].region_id.rstrip("0")):
            above[lim.state] = lim
    rows = []
    for state, label in WAITING_STATES:
        posted = request.method == "POST"
        rows.append({
            "state": state, "label": label, "own": own.get(state), "above": above.get(state),
            "days": request.POST.get(f"days-{state}", "") if posted else (own[state].days if state in own else ""),
            "basis": request.POST.get(f"basis-{state}", "") if posted else (own[state].basis if state in own else ""),
            "errors": errors.get(f"days-{state}", []),
        })
    return render(request, "cases/time_limits.html", {
        "regions": regions, "region": region, "rows": rows, "codes": codes,
        "other_errors": [m for k, v in errors.items() if not k.startswith("days-") for m in v],
    }, status=400 if errors else 200)
