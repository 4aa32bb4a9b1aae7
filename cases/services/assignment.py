"""Assignment and transfer of cases (分办转办; 赣州 十二, 沧州 六(二), 粤 十四: 申请受理、分办转办及结果反馈).

* :func:`assign` — a supervisor (``Role.SUPERVISOR`` covering the case's region) gives a case at the
  review or approval stage to a named reviewer / approver of the region; giving it to someone else
  later is a transfer and needs a reason. The assignee may also transfer it on, with a reason.
* :func:`check_may_act` — called by ``workflow.check``: while a case is assigned at its stage, only
  the assignee takes that stage's actions (the others of the region still read it).
* :func:`stage_left` — called by ``workflow.transition``: the assignment lapses when the case leaves
  its stage (a reviewer assigned to review does not approve).

The assignment is a django-guardian object permission (``cases.act_on_application``) in
:class:`~cases.models_assignment.ApplicationAssignment`; every assignment and transfer is an
:class:`~cases.models.ApplicationEvent` on the case's timeline (same state before and after; its
comment is "from → to" then the reason, shown by the timeline as 分办/转办 with both names).
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.roles.domain import Role

from ..access import holds
from ..models import Application, ApplicationEvent
from ..models import ApplicationState as S
from ..models_assignment import ACT_CODENAME, ACT_PERM, ApplicationAssignment
from .errors import CaseCode, Conflict, NotFound, NotPermitted

#: stage → (the role that works on it, the states it covers)
STAGES: dict[str, tuple[str, frozenset[str]]] = {
    "review": (Role.REVIEWER, frozenset({S.SUBMITTED, S.IN_REVIEW, S.AWAITING_IDENTITY})),
    "approval": (Role.APPROVER, frozenset({S.REVIEWED})),
}
STAGE_LABELS = {"review": gettext_lazy("review"), "approval": gettext_lazy("approval")}
EVENT_LABELS = {"assign": gettext_lazy("Assigned"), "transfer": gettext_lazy("Transferred")}


def stage_of(state: str) -> str | None:
    for stage, (_role, states) in STAGES.items():
        if state in states:
            return stage
    return None


def assignee_of(app: Application):
    """The user the case is assigned to at its current stage, or None."""
    if stage_of(app.state) is None:
        return None
    grant = (ApplicationAssignment.objects.filter(content_object_id=app.pk, permission__codename=ACT_CODENAME)
             .select_related("user").order_by("-id").first())
    return grant.user if grant else None


def is_supervisor(user, app: Application) -> bool:
    return holds(user, [Role.SUPERVISOR], app.region_id)


def candidates(app: Application) -> list:
    """Colleagues the case can be given to at its stage: active users holding the stage's role in a
    region covering the case's region (for approval, not the case's reviewer: four eyes)."""
    from portal.regions.codes import scope_prefix
    from portal.roles.models import RoleAssignment

    stage = stage_of(app.state)
    if stage is None:
        return []
    role = STAGES[stage][0]
    code = app.region_id
    user_ids = {
        uid for uid, region in RoleAssignment.objects.filter(role=role).values_list("user_id", "region_id")
        if code.startswith(scope_prefix(region))
    }
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("username")
    if stage == "approval" and app.reviewed_by_id:
        users = users.exclude(pk=app.reviewed_by_id)
    return list(users)


def may_assign(user, app: Application) -> bool:
    """May ``user`` assign (supervisor) or transfer (supervisor, or the current assignee) this case now?"""
    if user is None or stage_of(app.state) is None:
        return False
    if is_supervisor(user, app):
        return True
    current = assignee_of(app)
    return current is not None and current.pk == user.pk


@transaction.atomic
def assign(*, acting_user, application_id: int, assignee_id: int, reason: str = "") -> Application:
    """Give the case to ``assignee_id`` at its current stage (a transfer when someone has it already:
    then ``reason`` is required). Raises NotFound, NotPermitted, Conflict or ValidationError."""
    from guardian.shortcuts import assign_perm

    reason = str(reason or "").strip()
    app = Application.objects.select_for_update().filter(pk=application_id).first()
    if app is None:
        raise NotFound(_("Case not found."))
    stage = stage_of(app.state)
    if stage is None:
        raise Conflict(_("Only a case waiting for review or approval can be assigned; this one is “%(state)s”.")
                       % {"state": app.get_state_display()}, code=CaseCode.NOT_ASSIGNABLE)
    current = assignee_of(app)
    if not is_supervisor(acting_user, app) and not (current is not None and current.pk == acting_user.pk):
        raise NotPermitted(_("Cases are assigned by a supervisor of the region; the assignee may transfer them."))
    target = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
    role = STAGES[stage][0]
    if target is None or not holds(target, [role], app.region_id):
        raise ValidationError({"assignee": [_("Choose a %(role)s of the case's region.")
                                            % {"role": dict(Role.choices)[role]}]})
    if stage == "approval" and app.reviewed_by_id == target.pk:
        raise ValidationError({"assignee": [_("%(name)s passed the review of this case; another approver must "
                                              "decide it (four eyes).") % {"name": target.display_name}]})
    if current is not None and current.pk == target.pk:
        raise ValidationError({"assignee": [_("The case is already assigned to %(name)s.") % {"name": target.display_name}]})
    if current is not None and not reason:
        raise ValidationError({"reason": [_("Give a reason for the transfer.")]})
    ApplicationAssignment.objects.filter(content_object_id=app.pk, permission__codename=ACT_CODENAME).delete()
    assign_perm(ACT_PERM, target, app)
    action = "transfer" if current is not None else "assign"
    # the timeline's row: from whom to whom (first line), then the reason
    text = f"{current.display_name if current is not None else '—'} → {target.display_name}" + (f"\n{reason}" if reason else "")
    ApplicationEvent.objects.create(application=app, action=action, from_state=app.state, to_state=app.state,
                                    actor=acting_user, comment=text)
    return app


def check_may_act(user, app: Application, role: str) -> str | None:
    """While the case is assigned at its stage, only the assignee takes the stage's actions: the
    refusal's message for anyone else (None: may act). ``workflow.check`` raises it."""
    if user is None or user.is_superuser:
        return None
    stage = stage_of(app.state)
    if stage is None or STAGES[stage][0] != role:
        return None
    current = assignee_of(app)
    if current is not None and current.pk != user.pk:
        return _("This case is assigned to %(name)s, who acts on it; a supervisor can transfer it.") % {
            "name": current.display_name}
    return None


def stage_left(app: Application, from_state: str) -> None:
    """The case moved from ``from_state`` to ``app.state``: an assignment of the stage it left lapses."""
    before = stage_of(from_state)
    if before is not None and before != stage_of(app.state):
        ApplicationAssignment.objects.filter(content_object_id=app.pk, permission__codename=ACT_CODENAME).delete()


def assigned_to(user):
    """Cases assigned to ``user`` at their current stage (the assignee's own queue)."""
    waiting = set().union(*(states for _role, states in STAGES.values()))
    return Application.objects.filter(act_grants__user=user, act_grants__permission__codename=ACT_CODENAME,
                                      state__in=waiting)


# --- Stage time limits (per region and stage; no default is invented) ---------------------------------

TIME_LIMIT_ROLES = (Role.SUPERVISOR, Role.POLICY_ADMIN)
MAX_LIMIT_DAYS = 365


def may_set_time_limits(user, region_code: str) -> bool:
    return holds(user, TIME_LIMIT_ROLES, region_code)


@transaction.atomic
def set_stage_time_limits(*, acting_user, region_code: str, limits: dict[str, tuple[object, str]]):
    """Set the days a case may wait at each stage in ``region_code`` (and the regions below that set
    none): ``limits`` maps a waiting state to ``(days, basis)``; empty days removes the region's limit
    for that state (no default is invented). Supervisors and policy administrators of the region.
    Every change is recorded (the model's history). Returns the number of stages changed."""
    from portal.regions.models import Region

    from ..models_assignment import WAITING_STATES, StageTimeLimit

    region = Region.objects.filter(code=str(region_code or "")).first()
    if region is None:
        raise ValidationError({"region": [_("Choose a region.")]})
    if not may_set_time_limits(acting_user, region.code):
        raise NotPermitted(_("Time limits of a region are set by its supervisors and policy administrators."))
    labels = dict(WAITING_STATES)
    errors: dict[str, list[str]] = {}
    wanted: dict[str, tuple[int | None, str]] = {}
    for state, (days, basis) in limits.items():
        if state not in labels:
            raise ValidationError({"state": [_("Unknown stage: %(state)s.") % {"state": state}]})
        text = str(days if days is not None else "").strip()
        basis = str(basis or "").strip()[:200]
        if not text:
            wanted[state] = (None, basis)
            continue
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT_DAYS:
            errors[f"days-{state}"] = [_("%(stage)s: the days allowed must be a whole number from 1 to %(max)d.")
                                       % {"stage": labels[state], "max": MAX_LIMIT_DAYS}]
            continue
        wanted[state] = (int(text), basis)
    if errors:
        raise ValidationError(errors)
    changed = 0
    current = {lim.state: lim for lim in StageTimeLimit.objects.select_for_update().filter(region=region)}
    for state, (days, basis) in wanted.items():
        row = current.get(state)
        if days is None:
            if row is not None:
                row.delete()
                changed += 1
        elif row is None:
            StageTimeLimit.objects.create(region=region, state=state, days=days, basis=basis)
            changed += 1
        elif (row.days, row.basis) != (days, basis):
            row.days, row.basis = days, basis
            row.save(update_fields=["days", "basis"])
            changed += 1
    return changed
