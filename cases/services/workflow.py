"""The case workflow: ONE transition service and its table (domain.md "The case workflow").

``transition(acting_user=…, application_id=…, action=…, comment="", expected_state=None)`` is the
only way an application changes state. It locks the row (``select_for_update``), checks the role
(held in a region covering the case's region, through ``portal.roles.scoping``), the current state,
four eyes and the reason, changes the state and writes an :class:`~cases.models.ApplicationEvent`
in the same transaction, and schedules side effects on commit (settlement, the
``application_transitioned`` signal).

Four eyes (:func:`four_eyes_problem`): the user who created a case neither reviews it (start
review, pass, return, ask a department, reject in review) nor decides it (approve, reject after
review); the approver must not be the user who passed the review; the payment officer who batches
a case or records its bank result must not be its approver. :func:`unavailable_actions` says, for
the case page, which actions the user's role would allow but four eyes forbids, and why.

Errors are :class:`TransitionError` subclasses; ``err.http_status`` is what the API answers
(409 conflicts, 403 role/region/four eyes, 400 missing reason or detail, 404 not found).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from policies import categories
from portal.roles.domain import DepartmentCode, Role

from ..access import holds, holds_anywhere
from ..models import Application, ApplicationClaim, ApplicationEvent, PayeeType
from ..models import ApplicationState as S
from ..signals import application_transitioned
from . import assignment, payees
from . import settlement as settlement_service
from .errors import CaseCode, ServiceError

# --- Errors -------------------------------------------------------------------------------------


class TransitionError(ServiceError):
    """A transition was refused; ``str(err)`` says why in words a caseworker understands."""


class UnknownAction(TransitionError):
    http_status, default_code = 400, "unknown_action"


class PaymentsOnly(TransitionError):
    """batch / bank_ok / bank_failed are made by the payment services, with their batch."""

    http_status, default_code = 400, "payments_only"


class ApplicationNotFound(TransitionError):
    http_status, default_code = 404, "not_found"


class StateConflict(TransitionError):
    """Not possible from the current state — typically someone else moved the case first."""

    http_status, default_code = 409, "state_conflict"


class RoleRequired(TransitionError):
    http_status, default_code = 403, "role_required"


class OutOfRegion(TransitionError):
    http_status, default_code = 403, "out_of_region"


class FourEyesViolation(TransitionError):
    http_status, default_code = 403, "four_eyes"


class NotAssignee(TransitionError):
    """The case is assigned to someone else at this stage (分办转办, ``services.assignment``)."""

    http_status, default_code = 403, "not_assignee"


class ReasonRequired(TransitionError):
    http_status, default_code = 400, "reason_required"


class DetailMissing(TransitionError):
    """Something the action needs is missing (claims, payee, the identity to confirm)."""

    http_status, default_code = 400, "detail_missing"


class SettlementNotReady(TransitionError):
    """The settlement is still being calculated, or the engine refused it."""

    http_status, default_code = 409, "settlement_not_ready"


class NothingPayable(TransitionError):
    http_status, default_code = 409, "nothing_payable"


# --- The table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """``roles`` maps each state the action may start from to the role that may take it there."""

    roles: Mapping[str, str]
    to_state: str
    reason_required: bool = False
    system_allowed: bool = False  # callable with acting_user=None (the exchange's confirmation)
    payments_only: bool = False  # only through cases.services.payments

    @property
    def from_states(self) -> frozenset[str]:
        return frozenset(self.roles)


CW, RV, AP, PO, LI = Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.PAYMENT_OFFICER, Role.LIAISON

#: action → Rule(from-state → role, to-state, …). The single source of truth for the workflow.
TRANSITIONS: dict[str, Rule] = {
    "submit": Rule({S.DRAFT: CW}, S.SUBMITTED),
    "resubmit": Rule({S.RETURNED: CW}, S.SUBMITTED),
    "withdraw": Rule({S.DRAFT: CW, S.SUBMITTED: CW, S.RETURNED: CW}, S.WITHDRAWN),
    "start_review": Rule({S.SUBMITTED: RV}, S.IN_REVIEW),
    "pass": Rule({S.IN_REVIEW: RV}, S.REVIEWED),
    "return": Rule({S.IN_REVIEW: RV}, S.RETURNED, reason_required=True),
    "ask_department": Rule({S.IN_REVIEW: RV}, S.AWAITING_IDENTITY),
    "identity_answered": Rule({S.AWAITING_IDENTITY: LI}, S.IN_REVIEW, system_allowed=True),
    "approve": Rule({S.REVIEWED: AP}, S.APPROVED),
    "reject": Rule({S.IN_REVIEW: RV, S.REVIEWED: AP}, S.REJECTED, reason_required=True),
    "batch": Rule({S.APPROVED: PO}, S.IN_PAYMENT, payments_only=True),
    "bank_ok": Rule({S.IN_PAYMENT: PO}, S.PAID, payments_only=True),
    "bank_failed": Rule({S.IN_PAYMENT: PO}, S.APPROVED, reason_required=True, payments_only=True),
}

ACTION_LABELS = {
    "submit": gettext_lazy("Submit"),
    "resubmit": gettext_lazy("Resubmit"),
    "withdraw": gettext_lazy("Withdraw"),
    "start_review": gettext_lazy("Start review"),
    "pass": gettext_lazy("Pass review"),
    "return": gettext_lazy("Return for correction"),
    "ask_department": gettext_lazy("Ask the department to confirm an identity"),
    "identity_answered": gettext_lazy("Identity answered"),
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject"),
    "batch": gettext_lazy("Put into a payment batch"),
    "bank_ok": gettext_lazy("Paid by the bank"),
    "bank_failed": gettext_lazy("Bank payment failed"),
}


def _state_label(state: str) -> str:
    return str(dict(S.choices).get(state, state))


def _role_label(role: str) -> str:
    return str(dict(Role.choices).get(role, role))


def _user_label(user) -> str:
    if user is None:
        return _("the system")
    return getattr(user, "display_name", None) or user.get_username()


def _department_for(app: Application, role: str) -> str | None:
    if role == LI and app.pending_category:
        return categories.owner(app.pending_category, app.region_id)
    return None


def _conflict_message(app: Application, action: str, rule: Rule) -> str:
    last = app.events.select_related("actor").order_by("-id").first()
    if last is not None:
        return _(
            "This case is already “%(state)s”: moved by %(user)s at %(time)s. “%(action)s” is possible only from: %(from)s."
        ) % {
            "state": _state_label(app.state), "user": _user_label(last.actor),
            "time": timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M:%S"),
            "action": ACTION_LABELS.get(action, action),
            "from": "、".join(_state_label(s) for s in rule.roles),
        }
    return _("This case is “%(state)s”; “%(action)s” is possible only from: %(from)s.") % {
        "state": _state_label(app.state), "action": ACTION_LABELS.get(action, action),
        "from": "、".join(_state_label(s) for s in rule.roles),
    }


def _check_actor(user, app: Application, action: str, rule: Rule) -> None:
    """Role and region, for any of the states the action starts from."""
    if user is None:
        if rule.system_allowed:
            return
        raise RoleRequired(_("“%(action)s” must be done by a person.") % {"action": ACTION_LABELS.get(action, action)})
    roles = set(rule.roles.values())
    for role in roles:
        if holds(user, [role], app.region_id, department=_department_for(app, role)):
            return
    labels = "、".join(_role_label(r) for r in sorted(roles))
    if any(holds_anywhere(user, [r]) for r in roles):
        if LI in roles and app.pending_category and holds(user, [LI], app.region_id):
            owner = categories.owner(app.pending_category, app.region_id) or ""
            dept = dict(DepartmentCode.choices).get(owner, owner)
            raise RoleRequired(_("Only the liaison of %(department)s may answer for this identity.") % {"department": dept})
        raise OutOfRegion(
            _("Your role (%(roles)s) does not cover this case's region %(region)s.") % {"roles": labels, "region": app.region_id}
        )
    raise RoleRequired(_("“%(action)s” needs the role: %(roles)s.") % {"action": ACTION_LABELS.get(action, action), "roles": labels})


def _check_state_role(user, app: Application, action: str, rule: Rule) -> None:
    role = rule.roles[app.state]
    if user is None:
        return
    if not holds(user, [role], app.region_id, department=_department_for(app, role)):
        raise RoleRequired(
            _("In state “%(state)s”, “%(action)s” is for the %(role)s.")
            % {"state": _state_label(app.state), "action": ACTION_LABELS.get(action, action), "role": _role_label(role)}
        )


#: Taken by the reviewer of a case (before the approver's decision).
REVIEW_ACTIONS = frozenset({"start_review", "pass", "return", "ask_department"})


def _is_review(action: str, state: str) -> bool:
    return action in REVIEW_ACTIONS or (action == "reject" and state == S.IN_REVIEW)


def _is_decision(action: str, state: str) -> bool:
    return action == "approve" or (action == "reject" and state == S.REVIEWED)


def four_eyes_problem(user, app: Application, action: str) -> str | None:
    """Why four eyes forbids ``user`` to take ``action`` on ``app`` now (None: it does not)."""
    if user is None:
        return None
    created = app.created_by_id is not None and app.created_by_id == user.pk
    if _is_review(action, app.state) and created:
        return _("You created this case, so you cannot review it; another reviewer must (four eyes).")
    if _is_decision(action, app.state):
        if app.reviewed_by_id == user.pk:
            return _("You are this case's reviewer, so you cannot approve it; another approver must decide it "
                     "(four eyes).")
        if created:
            return _("You created this case, so you cannot approve it; another approver must decide it (four eyes).")
    if action in ("batch", "bank_ok", "bank_failed") and app.approved_by_id == user.pk:
        return _("You approved this case; another payment officer must pay it (four eyes).")
    return None


def _check_four_eyes(user, app: Application, action: str) -> None:
    problem = four_eyes_problem(user, app, action)
    if problem:
        raise FourEyesViolation(problem)


def _check_settlement(app: Application, *, payable: bool) -> None:
    current = settlement_service.current_settlement(app)
    if current is None or current.revision != app.calc_revision:
        raise SettlementNotReady(_("The settlement is still being calculated; try again in a moment."))
    if current.refused:
        raise SettlementNotReady(
            _("The settlement was refused, so the case cannot go on: %(errors)s") % {"errors": "；".join(current.refusals())}
        )
    if payable and (current.payable is None or current.payable <= 0):
        raise NothingPayable(
            _("Nothing is payable for this case (%(amount)s); reject it with a reason instead.") % {"amount": current.payable}
        )


#: Actions that a failed calculation blocks at once (review and approval check the settlement anyway).
BLOCKED_BY_FAILED_CALCULATION = ("submit", "resubmit", "start_review")


def calculation_problem(app: Application) -> str | None:
    """Why the case cannot be submitted or reviewed while its calculation failed (issue 13: an
    engine or storage failure shows on the case and blocks submission), or None. Only the
    settlement of the case's current revision counts: after a change the case is calculated again."""
    current = settlement_service.current_settlement(app)
    if current is None or not current.refused or current.revision != app.calc_revision:
        return None
    return _("The settlement of this case failed, so it cannot go on until the claims are corrected: "
             "%(errors)s") % {"errors": "；".join(current.refusals()) or _("no reason given")}


def _check_calculation(app: Application) -> None:
    problem = calculation_problem(app)
    if problem:
        raise SettlementNotReady(problem, code=CaseCode.CALCULATION_FAILED)


def _check_payee(app: Application) -> None:
    if app.payee_type == PayeeType.HOSPITAL:
        if not (app.payee_name and app.payee_bank and app.payee_account):
            raise DetailMissing(_("Enter the hospital's name, bank and account, or pay the person."))
    elif not app.person.bank_account:
        raise DetailMissing(_("The person has no bank account; add it to the person or pay the hospital."))


def _preconditions(app: Application, action: str, category: str | None) -> None:
    if action in BLOCKED_BY_FAILED_CALCULATION:
        _check_calculation(app)
    if action in ("submit", "resubmit"):
        if not ApplicationClaim.objects.filter(application=app).exists():
            raise DetailMissing(_("Attach at least one claim before submitting."))
        _check_payee(app)
    elif action == "pass":
        _check_settlement(app, payable=False)
    elif action == "approve":
        _check_settlement(app, payable=True)
        _check_payee(app)
    elif action == "ask_department":
        if not category:
            raise DetailMissing(_("Say which identity the department should confirm."))
        owner = categories.owner(category, app.region_id) if category in categories.codes_for(app.region_id) else None
        if owner is None:
            raise DetailMissing(_("“%(value)s” is not an identity category of region %(region)s (the national "
                                  "list and the categories its policy defines).")
                                % {"value": category, "region": app.region_id})
        if owner == DepartmentCode.MEDICAL_SECURITY:
            raise DetailMissing(_("This identity is recorded by the bureau itself; no department confirms it."))


def check(user, app: Application, action: str, *, comment: str = "", expected_state: str | None = None,
          category: str | None = None, preconditions: bool = True) -> Rule:
    """Raise the :class:`TransitionError` that :func:`transition` would raise (the row is not
    locked here). ``preconditions=False`` skips the checks on the case's data."""
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise UnknownAction(_("Unknown action “%(action)s”.") % {"action": action})
    _check_actor(user, app, action, rule)
    if (expected_state and expected_state != app.state) or app.state not in rule.roles:
        raise StateConflict(_conflict_message(app, action, rule))
    _check_state_role(user, app, action, rule)
    _check_four_eyes(user, app, action)
    refusal = assignment.check_may_act(user, app, rule.roles[app.state])  # 分办转办: only the assignee acts
    if refusal:
        raise NotAssignee(refusal)
    if rule.reason_required and not comment:
        raise ReasonRequired(_("Give a reason to %(action)s.") % {"action": str(ACTION_LABELS[action]).lower()})
    if preconditions:
        _preconditions(app, action, category)
    return rule


def _apply(app: Application, action: str, rule: Rule, user, category: str | None, batch) -> None:
    now = timezone.now()
    app.state = rule.to_state
    app.state_changed_at = now
    app.state_changed_by = user
    if action in ("submit", "resubmit"):
        app.submitted_at = now
        app.calc_revision += 1
    elif action == "pass":
        app.reviewed_by = user
    elif action == "return":
        app.reviewed_by = None
    elif action == "ask_department":
        app.pending_category = category
    elif action == "identity_answered":
        app.pending_category = ""
        app.calc_revision += 1
    elif action == "approve":
        current = settlement_service.current_settlement(app)
        app.approved_by = user
        app.approved_at = now
        app.approved_settlement = current
        app.amount_approved = current.payable
        payees.freeze(app)  # the payee is frozen with the approval (cases.services.payees)
        settlement_service.allocate_on_approval(app, current)
    elif action == "batch":
        app.current_batch = batch
    elif action == "bank_ok":
        app.current_batch = None
        app.paid_at = now
    elif action == "bank_failed":
        app.current_batch = None
    app.save()
    if rule.to_state in (S.PAID, S.REJECTED, S.WITHDRAWN):
        ApplicationClaim.objects.filter(application=app, active=True).update(active=False)


def transition(*, acting_user, application_id: int, action: str, comment: str = "", expected_state: str | None = None,
               category: str | None = None, via_payments: bool = False, batch=None) -> Application:
    """Move an application along the workflow (see :data:`TRANSITIONS`).

    ``expected_state`` (the state the user saw) turns a race into a clear conflict; ``comment`` is
    the reason (required for return, reject, bank_failed); ``category`` is the identity a
    department is asked to confirm (ask_department). ``acting_user=None`` is the system, allowed
    for identity_answered only. ``via_payments``/``batch`` are for ``cases.services.payments``.
    Returns the updated application; raises a :class:`TransitionError`.
    """
    comment = str(comment or "").strip()
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise UnknownAction(_("Unknown action “%(action)s”.") % {"action": action})
    if rule.payments_only and not via_payments:
        raise PaymentsOnly(_("Payments are made through payment batches, not by this action."))
    with transaction.atomic():
        app = Application.objects.select_for_update().filter(pk=application_id).first()
        if app is None:
            raise ApplicationNotFound(_("Case not found."))
        from_state = app.state
        check(acting_user, app, action, comment=comment, expected_state=expected_state, category=category)
        _apply(app, action, rule, acting_user, category, batch)
        assignment.stage_left(app, from_state)
        ApplicationEvent.objects.create(
            application=app, action=action, from_state=from_state, to_state=rule.to_state, actor=acting_user,
            comment=comment,
        )
        if action in ("submit", "resubmit", "identity_answered"):
            settlement_service._enqueue_settlement([app.pk], str(ACTION_LABELS[action]))
        payload = {
            "application_id": app.pk, "action": action, "from_state": from_state, "to_state": rule.to_state,
            "actor_id": getattr(acting_user, "pk", None), "comment": comment, "category": category or "",
        }
        transaction.on_commit(lambda: application_transitioned.send(sender=Application, **payload))
    return app


def allowed_actions(user, application: Application) -> list[str]:
    """The actions ``user`` may take on ``application`` now (role, region, state, four eyes),
    in table order, without the payment actions (made through payment batches). Data
    preconditions (claims attached, settlement ready, payee) are checked when the action is taken
    and explained then — except a failed calculation, which removes submit and start review (the
    case page says why: :func:`unavailable_actions`)."""
    out = []
    blocked = None
    for action, rule in TRANSITIONS.items():
        if rule.payments_only or application.state not in rule.roles:
            continue
        try:
            check(user, application, action, comment="x", preconditions=False)
        except TransitionError:
            continue
        if action in BLOCKED_BY_FAILED_CALCULATION:
            if blocked is None:
                blocked = calculation_problem(application) or ""
            if blocked:
                continue
        out.append(action)
    return out


def unavailable_actions(user, application: Application) -> list[tuple[str, str]]:
    """``(action, why)`` for each action of the case's current state that the user's role would
    allow but four eyes or a failed calculation forbids (shown on the case page, so nobody wonders
    where the button went)."""
    out = []
    failed = None
    for action, rule in TRANSITIONS.items():
        if rule.payments_only or application.state not in rule.roles:
            continue
        problem = four_eyes_problem(user, application, action)
        if not problem and action in BLOCKED_BY_FAILED_CALCULATION:
            if failed is None:
                failed = calculation_problem(application) or ""
            problem = failed
        if not problem:
            continue
        try:
            _check_actor(user, application, action, rule)
            _check_state_role(user, application, action, rule)
        except TransitionError:
            continue
        if (action, problem) not in out and all(p != problem for _a, p in out):
            out.append((action, problem))
    return out
