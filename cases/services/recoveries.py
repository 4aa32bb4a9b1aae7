"""Recoveries (追回) as receivables of the person — never a bank payment.

A recalculation that lowers an approved case makes an :class:`~cases.models.Adjustment` of kind
``recovery`` (negative): the person owes ``-amount`` back, for the reason
``cases.services.adjustments.reason_text`` puts in words. It is cleared, in part or in full, by
:class:`~cases.models.RecoveryEntry` rows:

* **offset** — :func:`plan_offsets` (called by ``payments.create_batch``) deducts what the person
  owes from their next payments in the batch (the case's assistance or an approved 补发): the line
  keeps its ``gross_amount``, shows the ``deduction`` and transfers ``amount = gross − deduction``.
  The entry is ``reserved`` while the line waits for the bank, ``done`` when it is paid, ``void``
  when it failed (the amount is owed again). A line fully offset transfers nothing: it is recorded
  as paid at once and never appears in a bank file;
* **repaid** — :func:`record_repayment`: the person paid it back (date, receipt number), recorded
  by a payment officer;
* **waiver** — :func:`request_waiver` by a caseworker or payment officer, :func:`decide_waiver` by an
  approver who did not ask (four eyes).

The first entry books the recovery (its adjustment becomes ``settled``: committed, no longer replaced
by a later recalculation); :func:`outstanding` is what is still owed.
"""
from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.roles.domain import Role

from ..access import PAYMENT_ROLES, require
from ..models import (
    Adjustment,
    AdjustmentKind,
    AdjustmentStatus,
    PaymentLine,
    PaymentLineKind,
    PaymentLineStatus,
    RecoveryEntry,
    RecoveryEntryKind,
    RecoveryEntryState,
)
from . import values
from .errors import CaseCode, Conflict, NotFound, NotPermitted

ZERO = Decimal("0.00")
COUNTING = [RecoveryEntryState.RESERVED, RecoveryEntryState.REQUESTED, RecoveryEntryState.DONE]
WAIVER_REQUEST_ROLES = frozenset({Role.CASEWORKER, Role.PAYMENT_OFFICER})


def owed(adj: Adjustment) -> Decimal:
    return -adj.amount if adj.kind == AdjustmentKind.RECOVERY else ZERO


def _legacy_paid(adj: Adjustment) -> Decimal:
    """Recovered through a (negative) bank line before recoveries were receivables."""
    total = PaymentLine.objects.filter(adjustment=adj, kind=PaymentLineKind.RECOVERY,
                                       status=PaymentLineStatus.PAID).aggregate(s=Sum("amount"))["s"]
    return -(total or ZERO)


def summary(adj: Adjustment) -> dict:
    """``owed``, ``recovered`` (offset and repaid, done), ``waived``, ``in_progress`` (reserved in an
    open batch, or a waiver waiting for approval) and ``outstanding`` of a recovery."""
    out = {"owed": owed(adj), "recovered": _legacy_paid(adj), "waived": ZERO, "in_progress": ZERO}
    for entry in adj.recovery_entries.all():
        if entry.state == RecoveryEntryState.DONE:
            out["waived" if entry.kind == RecoveryEntryKind.WAIVER else "recovered"] += entry.amount
        elif entry.state in (RecoveryEntryState.RESERVED, RecoveryEntryState.REQUESTED):
            out["in_progress"] += entry.amount
    out["outstanding"] = out["owed"] - out["recovered"] - out["waived"] - out["in_progress"]
    return out


def outstanding(adj: Adjustment) -> Decimal:
    return summary(adj)["outstanding"]


def receivables_of(person_id: int, *, region_prefix: str = "", lock: bool = False) -> list[Adjustment]:
    """The person's recoveries with something outstanding (oldest first)."""
    qs = Adjustment.objects.filter(application__person_id=person_id, kind=AdjustmentKind.RECOVERY,
                                   current_batch__isnull=True,
                                   status__in=[AdjustmentStatus.PENDING, AdjustmentStatus.SETTLED])
    if region_prefix:
        qs = qs.filter(application__region__code__startswith=region_prefix)
    if lock:
        qs = qs.select_for_update(of=("self",))
    adjs = list(qs.order_by("id"))
    return [a for a in adjs if outstanding(a) > 0]


def _book(adj: Adjustment) -> None:
    """A recovery with a first entry is committed: the planner no longer replaces it."""
    if adj.status == AdjustmentStatus.PENDING:
        Adjustment.objects.filter(pk=adj.pk).update(status=AdjustmentStatus.SETTLED, settled_at=timezone.now())
        adj.status = AdjustmentStatus.SETTLED


def plan_offsets(lines: list[PaymentLine], *, region_prefix: str) -> list[tuple[PaymentLine, Adjustment, Decimal]]:
    """Deduct what each person owes from their lines (in the caller's transaction, before the lines
    are saved): sets ``gross_amount``, ``deduction`` and the net ``amount`` of each line; returns
    ``(line, recovery, amount)`` for :func:`reserve_offsets`. The person's recoveries are locked."""
    plan = []
    by_person: dict[int, list[PaymentLine]] = {}
    for line in lines:
        line.gross_amount = line.amount
        line.deduction = ZERO
        by_person.setdefault(line.application.person_id, []).append(line)
    for person_id, person_lines in by_person.items():
        debts = [(adj, outstanding(adj)) for adj in receivables_of(person_id, region_prefix=region_prefix, lock=True)]
        for line in person_lines:
            for i, (adj, left) in enumerate(debts):
                if left <= 0 or line.amount <= 0:
                    continue
                take = min(left, line.amount)
                line.amount -= take
                line.deduction += take
                debts[i] = (adj, left - take)
                plan.append((line, adj, take))
    return plan


def reserve_offsets(plan, *, acting_user) -> None:
    """Write the planned deductions (the lines are saved now)."""
    for line, adj, amount in plan:
        RecoveryEntry.objects.create(adjustment=adj, kind=RecoveryEntryKind.OFFSET, state=RecoveryEntryState.RESERVED,
                                     amount=amount, payment_line=line, created_by=acting_user,
                                     comment=_("deducted in payment batch %(batch)s") % {"batch": line.batch})
        _book(adj)


def line_result(line: PaymentLine, outcome: str) -> None:
    """The bank's result for a line with deductions: paid makes them done, failed voids them."""
    state = RecoveryEntryState.DONE if outcome == PaymentLineStatus.PAID else RecoveryEntryState.VOID
    RecoveryEntry.objects.filter(payment_line=line, state=RecoveryEntryState.RESERVED).update(
        state=state, decided_at=timezone.now())


def _locked_recovery(adjustment_id) -> Adjustment:
    try:
        pk = int(adjustment_id)
    except (TypeError, ValueError):
        raise NotFound(_("Recovery not found.")) from None
    adj = Adjustment.objects.select_for_update().select_related("application").filter(
        pk=pk, kind=AdjustmentKind.RECOVERY).first()
    if adj is None:
        raise NotFound(_("Recovery not found."))
    return adj


def _amount(value, left: Decimal, field: str = "amount") -> Decimal:
    try:
        amount = values.money(value)
    except values.ValueProblem as exc:
        raise ValidationError({field: [_("The amount %(problem)s.") % {"problem": exc}]}) from None
    if amount <= 0:
        raise ValidationError({field: [_("The amount must be more than 0.00.")]})
    if amount > left:
        raise ValidationError({field: [_("Only %(left)s is still owed.") % {"left": f"{left:,.2f}"}]})
    return amount


def record_repayment(*, acting_user, adjustment_id: int, amount, repaid_on, receipt_number: str) -> RecoveryEntry:
    """The person repaid (part of) a recovery: amount, date and receipt number (payment officer)."""
    receipt_number = str(receipt_number or "").strip()[:60]
    with transaction.atomic():
        adj = _locked_recovery(adjustment_id)
        require(acting_user, PAYMENT_ROLES, adj.application.region_id)
        errors = {}
        day = None
        try:
            day = values.date(repaid_on)
        except values.ValueProblem as exc:
            errors["repaid_on"] = [_("The date of the repayment %(problem)s.") % {"problem": exc}]
        if not receipt_number:
            errors["receipt_number"] = [_("Enter the receipt number.")]
        try:
            amount = _amount(amount, outstanding(adj))
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        entry = RecoveryEntry.objects.create(adjustment=adj, kind=RecoveryEntryKind.REPAID, state=RecoveryEntryState.DONE,
                                             amount=amount, repaid_on=day, receipt_number=receipt_number,
                                             created_by=acting_user)
        _book(adj)
    return entry


def request_waiver(*, acting_user, adjustment_id: int, amount, reason: str) -> RecoveryEntry:
    """Ask to waive (part of) a recovery, with a reason; an approver decides."""
    reason = str(reason or "").strip()[:200]
    with transaction.atomic():
        adj = _locked_recovery(adjustment_id)
        require(acting_user, WAIVER_REQUEST_ROLES, adj.application.region_id)
        errors = {}
        if not reason:
            errors["reason"] = [_("Say why the recovery should be waived.")]
        try:
            amount = _amount(amount, outstanding(adj))
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        entry = RecoveryEntry.objects.create(adjustment=adj, kind=RecoveryEntryKind.WAIVER,
                                             state=RecoveryEntryState.REQUESTED, amount=amount, comment=reason,
                                             created_by=acting_user)
        _book(adj)
    return entry


def decide_waiver(*, acting_user, entry_id: int, approved: bool, comment: str = "") -> RecoveryEntry:
    """An approver (not the one who asked) approves or rejects a waiver; rejected, it is owed again."""
    comment = str(comment or "").strip()
    with transaction.atomic():
        try:
            pk = int(entry_id)
        except (TypeError, ValueError):
            raise NotFound(_("Waiver not found.")) from None
        entry = RecoveryEntry.objects.select_for_update().select_related("adjustment__application").filter(
            pk=pk, kind=RecoveryEntryKind.WAIVER).first()
        if entry is None:
            raise NotFound(_("Waiver not found."))
        require(acting_user, [Role.APPROVER], entry.adjustment.application.region_id)
        if entry.state != RecoveryEntryState.REQUESTED:
            raise Conflict(_("This waiver was decided already."), code=CaseCode.STATE_CONFLICT)
        if entry.created_by_id == acting_user.pk:
            raise NotPermitted(_("You asked for this waiver; another approver must decide it (four eyes)."),
                               code=CaseCode.FOUR_EYES)
        if not approved and not comment:
            raise ValidationError({"comment": [_("Give a reason to reject.")]})
        entry.state = RecoveryEntryState.DONE if approved else RecoveryEntryState.VOID
        entry.decided_by, entry.decided_at = acting_user, timezone.now()
        if comment:
            entry.comment = f"{entry.comment} / {comment}"[:200]
        entry.save(update_fields=["state", "decided_by", "decided_at", "comment"])
    return entry
