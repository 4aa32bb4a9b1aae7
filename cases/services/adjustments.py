"""Review and approval of 补发 (supplementary payments) before they are paid.

A recalculation of an approved case (``cases.services.settlement`` / ``recalc_batch``) turns a
higher result into an :class:`~cases.models.Adjustment` of kind ``supplementary``: money above
what was approved. It is paid only after a reviewer passed it and then an approver approved it
(:func:`review`, :func:`decide`) — two different people, neither of whom made the change that
caused it (:func:`originators`: who entered the identities and claims of the person-year after the
case was approved). Each decision is an :class:`~cases.models.AdjustmentReview` of the amount and
the settlement shown; when a later recalculation changes the amount, the earlier decisions no
longer count (:func:`approval_state`). Both see the amount, the amount approved with the case and
the reason in words (:func:`reason_text`).
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from portal.roles.domain import Role

from ..access import require
from ..models import (
    Adjustment,
    AdjustmentKind,
    AdjustmentReview,
    AdjustmentStatus,
    AdjustmentStep,
    Application,
    Claim,
    Identity,
    SettlementLine,
    category_label,
)
from .errors import CaseCode, Conflict, NotFound, NotPermitted

TO_REVIEW, TO_APPROVE, APPROVED, REJECTED = "to_review", "to_approve", "approved", "rejected"
STATE_LABELS = {
    TO_REVIEW: gettext_lazy("waiting for review"),
    TO_APPROVE: gettext_lazy("waiting for approval"),
    APPROVED: gettext_lazy("approved for payment"),
    REJECTED: pgettext_lazy("decision", "rejected"),
}


def _current_reviews(adj: Adjustment) -> list[AdjustmentReview]:
    return [r for r in adj.reviews.all() if r.amount == adj.amount and r.settlement_id == adj.settlement_id]


def approval_state(adj: Adjustment) -> str:
    """``to_review`` / ``to_approve`` / ``approved`` / ``rejected`` of a 补发 for its current amount and
    settlement (a recovery needs no approval to be owed: ``approved``)."""
    if adj.kind != AdjustmentKind.SUPPLEMENTARY:
        return APPROVED
    reviews = sorted(_current_reviews(adj), key=lambda r: r.pk)
    review = next((r for r in reversed(reviews) if r.step == AdjustmentStep.REVIEW), None)
    if review is None:
        return TO_REVIEW
    if not review.passed:
        return REJECTED
    decision = next((r for r in reversed(reviews) if r.step == AdjustmentStep.APPROVE and r.pk > review.pk), None)
    if decision is None:
        return TO_APPROVE
    if not decision.passed or decision.actor_id == review.actor_id:
        return REJECTED if not decision.passed else TO_APPROVE
    return APPROVED


def state_label(adj: Adjustment) -> str:
    return str(STATE_LABELS[approval_state(adj)])


def originators(adj: Adjustment) -> set[int]:
    """The users who made the changes behind ``adj``: who entered identities of the person, or claims
    of the person-year, after the case was approved."""
    app = adj.application
    since = app.approved_at
    ids: set[int] = set()
    identities = Identity.objects.filter(person_id=app.person_id)
    claims = Claim.objects.filter(person_id=app.person_id, date__year=app.year)
    if since is not None:
        identities = identities.filter(Q(created_at__gte=since) | Q(updated_at__gte=since))
        claims = claims.filter(Q(created_at__gte=since) | Q(updated_at__gte=since))
    ids.update(pk for pk in identities.values_list("created_by_id", flat=True) if pk)
    # An identity entered by bureau staff counts once a second reviewer confirmed it: that reviewer
    # made the change take effect, so they do not decide its 补发 either.
    from ..models import IdentityEntry

    ids.update(pk for pk in IdentityEntry.objects.filter(identity__in=identities).values_list("decided_by_id", flat=True)
               if pk)
    ids.update(pk for pk in claims.values_list("created_by_id", flat=True) if pk)
    return ids


_SOURCE = re.compile(r"^(push|confirmation|policy|import):?(\S*)$")


def reason_text(adj: Adjustment) -> str:
    """Why the adjustment was made, in words: the change that caused it (an identity list pushed by a
    department, a confirmation, a policy version, an identity or claim entered) and, claim by claim
    of the case, the identity and the policy clause that the new calculation applied where they differ
    from the approved one."""
    parts = []
    raw = (adj.reason or "").strip()
    match = _SOURCE.match(raw)
    if match:
        kind, ref = match.groups()
        parts.append({
            "push": _("identity list pushed by a department (push %(ref)s)"),
            "confirmation": _("identity confirmed by a department (confirmation %(ref)s)"),
            "policy": _("new policy version (%(ref)s)"),
            "import": _("claims imported (%(ref)s)"),
        }[kind] % {"ref": ref or "—"})
    elif raw:
        parts.append(raw)
    app = adj.application
    before = {}
    if app.approved_settlement_id:
        before = {line.claim_id: line for line in SettlementLine.objects.filter(
            settlement_id=app.approved_settlement_id, in_application=True)}
    for line in SettlementLine.objects.filter(settlement_id=adj.settlement_id, in_application=True).select_related("claim"):
        old = before.get(line.claim_id)
        bits = []
        if old is None or old.category != line.category:
            bits.append(_("identity %(old)s → %(new)s") % {
                "old": (category_label(old.category) or "—") if old else "—",
                "new": category_label(line.category) or "—"})
        if old is None or old.policy != line.policy or old.route != line.route:
            bits.append(_("applied: %(policy)s %(route)s") % {"policy": line.policy or "—", "route": line.route or ""})
        if old is not None and (old.assistance + old.tilted) != (line.assistance + line.tilted):
            bits.append(_("assistance %(old)s → %(new)s") % {"old": f"{old.assistance + old.tilted:,.2f}",
                                                             "new": f"{line.assistance + line.tilted:,.2f}"})
        if bits:
            parts.append(_("claim of %(date)s: %(what)s") % {"date": line.claim.date.isoformat(), "what": "，".join(bits)})
    return "；".join(str(p).strip() for p in parts if str(p).strip()) or _("recalculation")


def _locked(adjustment_id) -> Adjustment:
    try:
        pk = int(adjustment_id)
    except (TypeError, ValueError):
        raise NotFound(_("Adjustment not found.")) from None
    adj = Adjustment.objects.select_for_update().filter(pk=pk).first()
    if adj is None:
        raise NotFound(_("Adjustment not found."))
    return adj


def _checked(acting_user, adjustment_id, role: str, expected_amount) -> Adjustment:
    adj = _locked(adjustment_id)
    adj.application = Application.objects.get(pk=adj.application_id)
    require(acting_user, [role], adj.application.region_id)
    if adj.kind != AdjustmentKind.SUPPLEMENTARY:
        raise Conflict(_("Only a supplementary payment is reviewed this way."), code=CaseCode.NOT_SUPPLEMENTARY)
    if adj.status != AdjustmentStatus.PENDING or adj.current_batch_id is not None:
        raise Conflict(_("This supplementary payment is “%(status)s”; it can no longer be decided.")
                       % {"status": adj.get_status_display()}, code=CaseCode.STATE_CONFLICT)
    if expected_amount is not None and str(expected_amount) != str(adj.amount):
        raise Conflict(_("The amount changed to %(amount)s since you opened the page (a new calculation); "
                         "check it again.") % {"amount": f"{adj.amount:,.2f}"}, code=CaseCode.AMOUNT_CHANGED)
    if acting_user.pk in originators(adj):
        raise NotPermitted(_("You entered a change that led to this supplementary payment; another person must "
                             "decide it (four eyes)."), code=CaseCode.FOUR_EYES)
    return adj


def review(*, acting_user, adjustment_id: int, passed: bool, comment: str = "", expected_amount=None) -> AdjustmentReview:
    """A reviewer passes or rejects a 补发 (a rejection needs a reason). ``expected_amount``: the
    amount the reviewer saw (refused if a recalculation changed it meanwhile)."""
    comment = str(comment or "").strip()
    if not passed and not comment:
        raise ValidationError({"comment": [_("Give a reason to reject.")]})
    with transaction.atomic():
        adj = _checked(acting_user, adjustment_id, Role.REVIEWER, expected_amount)
        if approval_state(adj) != TO_REVIEW:
            raise Conflict(_("This supplementary payment is “%(state)s”, not waiting for review.")
                           % {"state": state_label(adj)}, code=CaseCode.STATE_CONFLICT)
        return AdjustmentReview.objects.create(adjustment=adj, step=AdjustmentStep.REVIEW, passed=bool(passed),
                                               amount=adj.amount, settlement_id=adj.settlement_id, actor=acting_user,
                                               comment=comment[:200])


def decide(*, acting_user, adjustment_id: int, approved: bool, comment: str = "", expected_amount=None) -> AdjustmentReview:
    """An approver approves or rejects a reviewed 补发 — not its reviewer."""
    comment = str(comment or "").strip()
    if not approved and not comment:
        raise ValidationError({"comment": [_("Give a reason to reject.")]})
    with transaction.atomic():
        adj = _checked(acting_user, adjustment_id, Role.APPROVER, expected_amount)
        if approval_state(adj) != TO_APPROVE:
            raise Conflict(_("This supplementary payment is “%(state)s”, not waiting for approval.")
                           % {"state": state_label(adj)}, code=CaseCode.STATE_CONFLICT)
        reviewer = next(r for r in sorted(_current_reviews(adj), key=lambda r: -r.pk) if r.step == AdjustmentStep.REVIEW)
        if reviewer.actor_id == acting_user.pk:
            raise NotPermitted(_("You reviewed this supplementary payment; another approver must decide it (four eyes)."),
                               code=CaseCode.FOUR_EYES)
        return AdjustmentReview.objects.create(adjustment=adj, step=AdjustmentStep.APPROVE, passed=bool(approved),
                                               amount=adj.amount, settlement_id=adj.settlement_id, actor=acting_user,
                                               comment=comment[:200])
