"""Payment batches: building them from approved cases and pending adjustments, the bank file
(CSV and Excel), and recording the bank's result per line.

Nothing is ever paid twice. The database guarantees it (``PaymentLine`` partial unique indexes:
one live — pending or paid — regular line per case, one live line per adjustment; a case or an
adjustment points at no more than one open batch), and the services are idempotent:

* :func:`create_batch` locks the cases it takes (``select_for_update``) and re-checks their state,
  so two officers building batches at once never take the same case; with ``request_key`` a
  repeated request (double click, retry after a timeout or a dead worker) returns the batch the
  first one made; a batch and all its lines are created in one transaction;
* :func:`record_results` ignores a result already recorded identically and refuses a different
  one (conflict); a failed line's case goes back to approved for another batch, a failed
  adjustment back to pending.

Four eyes: the officer who batches or pays a case must not be its approver.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import exports
from portal.regions.codes import scope_prefix
from portal.regions.models import Region
from portal.roles.scoping import scope_queryset

from ..access import PAYMENT_ROLES, require
from ..models import (
    Adjustment,
    AdjustmentKind,
    AdjustmentStatus,
    Application,
    ApplicationState,
    BankFileDelivery,
    BatchStatus,
    PayeeType,
    PaymentBatch,
    PaymentLine,
    PaymentLineKind,
    PaymentLineStatus,
)
from . import adjustments as adjustment_review
from . import payees, recoveries, workflow
from .errors import CaseCode, Conflict, NotFound
from .persons import log_id_number_views

ZERO = Decimal("0.00")


def _payee(app: Application) -> tuple[dict | None, str | None]:
    """The payee frozen on ``app`` at approval (copied into the line), or the reason it cannot be
    paid (``cases.services.payees.frozen_payee``)."""
    return payees.frozen_payee(app)


def _explain_application(user, pk: int) -> str:
    app = Application.objects.filter(pk=pk).select_related("current_batch").first()
    visible = app is not None and scope_queryset(Application.objects.filter(pk=pk), user, roles=PAYMENT_ROLES).exists()
    if not visible:
        return _("Case %(id)s is not an approved case in your regions.") % {"id": pk}
    if app.current_batch is not None:
        return _("Case %(case)s is already in payment batch %(batch)s.") % {"case": app, "batch": app.current_batch}
    return _("Case %(case)s is “%(state)s”, not approved.") % {"case": app, "state": app.get_state_display()}


def create_batch(*, acting_user, region_code: str, application_ids=None, adjustment_ids=None, note: str = "",
                 request_key: str | None = None) -> PaymentBatch:
    """Build a payment batch for ``region_code`` (and below) from approved cases and pending
    adjustments.

    ``application_ids`` / ``adjustment_ids``: ``None`` takes every eligible one in the region (cases
    the user approved, and cases whose payee is incomplete, are then left out and listed in
    ``batch.skipped``); a list takes exactly those, and any that cannot be taken is refused with
    the reason. ``request_key`` makes the request idempotent. Returns the batch (with
    ``batch.skipped``: a list of ``(case number, reason)``)."""
    region = Region.objects.filter(pk=str(region_code or "")).first()
    if region is None:
        raise ValidationError({"region_code": [_("Region %(code)s does not exist.") % {"code": region_code}]})
    require(acting_user, PAYMENT_ROLES, region.code)
    request_key = (str(request_key).strip()[:64] or None) if request_key else None
    if request_key:
        existing = PaymentBatch.objects.filter(request_key=request_key).first()
        if existing is not None:
            return _same_request(existing, acting_user, region)
    explicit_apps = application_ids is not None
    explicit_adjs = adjustment_ids is not None
    prefix = scope_prefix(region.code)
    try:
        with transaction.atomic():
            batch = _create_batch(acting_user, region, prefix, application_ids, adjustment_ids, explicit_apps,
                                  explicit_adjs, note, request_key)
    except IntegrityError:
        if request_key:
            existing = PaymentBatch.objects.filter(request_key=request_key).first()
            if existing is not None:
                return _same_request(existing, acting_user, region)
        raise Conflict(_("These payments were put into another batch a moment ago; reload and try again."),
                       code=CaseCode.ALREADY_BATCHED) from None
    return batch


def _same_request(existing: PaymentBatch, user, region) -> PaymentBatch:
    if existing.created_by_id != user.pk or existing.region_id != region.code:
        raise Conflict(_("This request key was used for another batch."), code=CaseCode.REQUEST_KEY_USED)
    existing.skipped = []
    return existing


def _create_batch(user, region, prefix, application_ids, adjustment_ids, explicit_apps, explicit_adjs, note, request_key):
    skipped: list[tuple[str, str]] = []
    apps_qs = scope_queryset(
        Application.objects.filter(state=ApplicationState.APPROVED, current_batch__isnull=True, region__code__startswith=prefix),
        user, roles=PAYMENT_ROLES,
    )
    if explicit_apps:
        wanted = sorted({int(a) for a in application_ids})
        apps_qs = apps_qs.filter(pk__in=wanted)
    elif explicit_adjs:
        # Paying chosen adjustments takes nothing else (not every approved case of the region).
        apps_qs = apps_qs.none()
    apps = list(apps_qs.select_for_update(of=("self",)).order_by("pk"))
    if request_key:
        # A twin request may have committed while we waited for the locks: answer with its batch.
        twin = PaymentBatch.objects.filter(request_key=request_key).first()
        if twin is not None:
            return _same_request(twin, user, region)
    if explicit_apps:
        found = {a.pk for a in apps}
        problems = [_explain_application(user, pk) for pk in wanted if pk not in found]
        if problems:
            raise Conflict(" ".join(problems), code=CaseCode.NOT_PAYABLE)
    # Re-read person data after the lock (the payee is copied from it).
    apps = list(Application.objects.filter(pk__in=[a.pk for a in apps]).select_related("person").order_by("pk"))

    adj_qs = scope_queryset(
        Adjustment.objects.filter(status=AdjustmentStatus.PENDING, current_batch__isnull=True,
                                  kind=AdjustmentKind.SUPPLEMENTARY, application__region__code__startswith=prefix),
        user, roles=PAYMENT_ROLES, field="application__region",
    )
    if explicit_adjs:
        wanted_adj = sorted({int(a) for a in adjustment_ids})
        adj_qs = adj_qs.filter(pk__in=wanted_adj)
    elif explicit_apps:
        adj_qs = adj_qs.none()
    adjustments = list(adj_qs.select_for_update(of=("self",)).order_by("pk"))
    if explicit_adjs:
        missing = set(wanted_adj) - {a.pk for a in adjustments}
        if missing:
            raise Conflict(
                _("Adjustments %(ids)s are not supplementary payments waiting for payment in your regions "
                  "(a recovery is collected from the person, never paid by the bank).")
                % {"ids": ", ".join(map(str, sorted(missing)))},
                code=CaseCode.NOT_PAYABLE,
            )
    adjustments = list(Adjustment.objects.filter(pk__in=[a.pk for a in adjustments]).select_related(
        "application", "application__person").prefetch_related("reviews").order_by("pk"))

    lines: list[PaymentLine] = []
    take_apps: list[Application] = []
    for app in apps:
        reason = None
        if app.approved_by_id == user.pk:
            reason = _("you approved it (four eyes)")
        payee, payee_problem = _payee(app)
        reason = reason or payee_problem
        if reason:
            if explicit_apps:
                if app.approved_by_id == user.pk:
                    raise workflow.FourEyesViolation(
                        _("You approved case %(case)s; another payment officer must pay it (four eyes).") % {"case": app})
                raise Conflict(_("Case %(case)s cannot be paid: %(reason)s.") % {"case": app, "reason": reason}, code=CaseCode.NO_PAYEE)
            skipped.append((str(app), reason))
            continue
        take_apps.append(app)
        lines.append(PaymentLine(application=app, kind=PaymentLineKind.REGULAR, amount=app.amount_approved, **payee))
    take_adjs: list[Adjustment] = []
    for adj in adjustments:
        app = adj.application
        reason = _("you approved it (four eyes)") if app.approved_by_id == user.pk else None
        state = adjustment_review.approval_state(adj)
        if reason is None and state != adjustment_review.APPROVED:
            reason = _("the supplementary payment is %(state)s (a reviewer and an approver must pass it first)") % {
                "state": adjustment_review.STATE_LABELS[state]}
        payee, payee_problem = _payee(app)
        reason = reason or payee_problem
        if reason:
            if explicit_adjs:
                raise Conflict(_("Adjustment %(id)s of case %(case)s cannot be paid: %(reason)s.")
                               % {"id": adj.pk, "case": app, "reason": reason}, code=CaseCode.NOT_PAYABLE)
            skipped.append((f"{app} · {adj.get_kind_display()} {adj.amount}", reason))
            continue
        take_adjs.append(adj)
        kind = PaymentLineKind.SUPPLEMENTARY if adj.kind == AdjustmentKind.SUPPLEMENTARY else PaymentLineKind.RECOVERY
        lines.append(PaymentLine(application=app, adjustment=adj, kind=kind, amount=adj.amount, **payee))
    # What the persons owe back (追回) is deducted from their payments here, never paid as a line.
    offsets = recoveries.plan_offsets(lines, region_prefix=prefix)
    if not lines:
        if skipped:
            raise Conflict(
                _("Nothing can be paid in %(region)s: %(why)s") % {"region": region.name,
                                                                   "why": "；".join(f"{c}: {r}" for c, r in skipped)},
                code=CaseCode.NOTHING_TO_PAY,
            )
        raise Conflict(_("There are no approved cases or pending adjustments to pay in %(region)s.") % {"region": region.name},
                       code=CaseCode.NOTHING_TO_PAY)

    batch = PaymentBatch.objects.create(
        region=region, created_by=user, note=str(note or "")[:200], request_key=request_key,
        line_count=len(lines), total_amount=sum((line.amount for line in lines), ZERO),
    )
    batch.number = f"PB-{region.code}-{batch.pk:06d}"
    batch.save(update_fields=["number"])
    for line in lines:
        line.batch = batch
    PaymentLine.objects.bulk_create(lines)
    recoveries.reserve_offsets(offsets, acting_user=user)
    for app in take_apps:
        workflow.transition(acting_user=user, application_id=app.pk, action="batch", via_payments=True, batch=batch,
                            comment=_("payment batch %(batch)s") % {"batch": batch.number})
    if take_adjs:
        Adjustment.objects.filter(pk__in=[a.pk for a in take_adjs]).update(
            status=AdjustmentStatus.IN_PAYMENT, current_batch=batch
        )
    # A payment wholly offset against what the person owes transfers nothing: it is settled now and
    # never appears in the bank file.
    now = timezone.now()
    for line in lines:
        if line.amount == ZERO:
            line.application = Application.objects.get(pk=line.application_id)
            apply_line_result(acting_user=user, line=line, outcome=PaymentLineStatus.PAID,
                              reference=_("fully offset"), reason="", now=now)
    close_if_complete(batch, now)
    batch.skipped = skipped
    return batch


def record_results(*, acting_user, batch_id: int, results) -> PaymentBatch:
    """Record the bank's answer for lines of a batch.

    ``results``: ``[{"line_id": 12, "outcome": "paid", "bank_reference": "B2024…"},
    {"line_id": 13, "outcome": "failed", "reason": "account closed"}, …]``. A paid regular line
    makes its case paid; a failed one returns the case to approved (for another batch). The same
    result recorded twice is ignored; a different result for a line that already has one is a
    conflict. When every line has a result the batch is closed."""
    errors = []
    items = []
    for index, item in enumerate(results or []):
        try:
            line_id = int(item.get("line_id"))
        except (TypeError, ValueError):
            errors.append(_("Result %(n)d: line_id is missing.") % {"n": index + 1})
            continue
        outcome = str(item.get("outcome") or "")
        reference = str(item.get("bank_reference") or "").strip()
        reason = str(item.get("reason") or "").strip()
        if outcome not in (PaymentLineStatus.PAID, PaymentLineStatus.FAILED):
            errors.append(_("Line %(id)s: outcome must be paid or failed.") % {"id": line_id})
        elif outcome == PaymentLineStatus.PAID and not reference:
            errors.append(_("Line %(id)s: a paid line needs the bank reference.") % {"id": line_id})
        elif outcome == PaymentLineStatus.FAILED and not reason:
            errors.append(_("Line %(id)s: a failed line needs the bank's reason.") % {"id": line_id})
        items.append((line_id, outcome, reference[:60], reason[:200]))
    if not items and not errors:
        errors.append(_("No results given."))
    if errors:
        raise ValidationError({"results": errors})
    with transaction.atomic():
        batch = PaymentBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(_("Payment batch not found."))
        require(acting_user, PAYMENT_ROLES, batch.region_id)
        require_exported(batch)
        lines = {
            line.pk: line
            for line in PaymentLine.objects.select_for_update(of=("self",)).filter(batch=batch, pk__in=[i[0] for i in items])
            .select_related("application", "adjustment", "result_by")
        }
        unknown = [str(i[0]) for i in items if i[0] not in lines]
        if unknown:
            raise ValidationError({"results": [_("Lines %(ids)s are not in batch %(batch)s.") % {"ids": ", ".join(unknown), "batch": batch}]})
        now = timezone.now()
        for line_id, outcome, reference, reason in items:
            apply_line_result(acting_user=acting_user, line=lines[line_id], outcome=outcome, reference=reference,
                              reason=reason, now=now)
        close_if_complete(batch, now)
    return batch


class _DryRun(Exception):
    pass


def check_results(*, acting_user, batch_id: int, results) -> None:
    """Raise what :func:`record_results` would raise for ``results``, recording nothing (the page
    asks for confirmation only of results that can be recorded)."""
    try:
        with transaction.atomic():
            record_results(acting_user=acting_user, batch_id=batch_id, results=results)
            raise _DryRun
    except _DryRun:
        pass


def apply_line_result(*, acting_user, line: PaymentLine, outcome: str, reference: str, reason: str, now) -> bool:
    """Record one line's result (the caller holds the batch and line locks, in a transaction).

    Returns True when recorded, False when the same result was already there (ignored). Raises
    :class:`Conflict` (``result_recorded``) for a different result and the workflow's
    :class:`~cases.services.workflow.TransitionError` (four eyes, state) — used by
    :func:`record_results` and by the bank's return file (``cases.services.bank_returns``)."""
    if line.status != PaymentLineStatus.PENDING:
        same = line.status == outcome and (outcome == PaymentLineStatus.FAILED or line.bank_reference == reference)
        if same:
            return False
        raise Conflict(
            _("Line %(id)s already has a result: %(status)s %(ref)s, recorded by %(user)s at %(time)s.")
            % {"id": line.pk, "status": line.get_status_display(), "ref": line.bank_reference or line.failure_reason,
               "user": workflow._user_label(line.result_by), "time": timezone.localtime(line.result_at).strftime("%Y-%m-%d %H:%M")},
            code=CaseCode.RESULT_RECORDED,
        )
    if line.adjustment_id is None:
        action = "bank_ok" if outcome == PaymentLineStatus.PAID else "bank_failed"
        workflow.transition(acting_user=acting_user, application_id=line.application_id, action=action,
                            via_payments=True, comment=reason or reference)
    else:
        if line.application.approved_by_id == acting_user.pk:
            raise workflow.FourEyesViolation(
                _("You approved case %(case)s; another payment officer must record its payments (four eyes).")
                % {"case": line.application})
        adj = Adjustment.objects.select_for_update().get(pk=line.adjustment_id)
        if outcome == PaymentLineStatus.PAID:
            adj.status, adj.settled_at = AdjustmentStatus.SETTLED, now
        else:
            adj.status = AdjustmentStatus.PENDING
        adj.current_batch = None
        adj.save(update_fields=["status", "settled_at", "current_batch"])
    if line.deduction:
        recoveries.line_result(line, outcome)
    line.status = outcome
    line.bank_reference = reference if outcome == PaymentLineStatus.PAID else ""
    line.failure_reason = reason if outcome == PaymentLineStatus.FAILED else ""
    line.result_at, line.result_by = now, acting_user
    line.save(update_fields=["status", "bank_reference", "failure_reason", "result_at", "result_by"])
    return True


def require_exported(batch: PaymentBatch) -> None:
    """The bank's results come after the bank file went to the bank: refused before its first export."""
    if batch.exported_at is None:
        raise Conflict(_("Export the bank file of batch %(batch)s and send it to the bank first; results are recorded "
                         "after that.") % {"batch": batch}, code=CaseCode.NOT_EXPORTED)


def close_if_complete(batch: PaymentBatch, now) -> bool:
    """Close ``batch`` (locked by the caller) once every line has a result."""
    if batch.status == BatchStatus.OPEN and not PaymentLine.objects.filter(batch=batch, status=PaymentLineStatus.PENDING).exists():
        batch.status, batch.closed_at = BatchStatus.CLOSED, now
        batch.save(update_fields=["status", "closed_at"])
        return True
    return False


def export_headers() -> list[str]:
    return [
        _("Line"), _("Batch"), _("Case number"), _("Kind"), _("Payee"), _("Identity number"), _("Bank"),
        _("Account"), _("Amount (yuan)"), _("Purpose"), _("Amount before deductions"), _("Recovery deducted"),
    ]


def export_batch(*, acting_user, batch_id: int, fmt: str = "csv") -> tuple[str, str, bytes]:
    """The bank file of a batch: ``(filename, content_type, bytes)`` — for payment officers of the
    batch's region only. It carries what the bank checks: the payee's full name, full identity
    number (person payees) and account, and the amount to transfer; a line wholly offset against a
    recovery (0.00) is not in it, nor is any negative line. CSV is UTF-8 with a BOM (Excel opens
    it), ``fmt="xlsx"`` an Excel workbook; every text cell is neutralised against formula injection
    (``portal.exports``). Each download is recorded as a :class:`~cases.models.BankFileDelivery`
    and each person's full number in it as an identity-number view (channel export)."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError({"format": [_("The format must be csv or xlsx.")]})
    batch = PaymentBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Payment batch not found."))
    require(acting_user, PAYMENT_ROLES, batch.region_id)
    lines = list(batch.lines.filter(amount__gt=0).select_related("application", "application__person").order_by("pk"))
    rows, revealed = [], []
    kinds = dict(PaymentLineKind.choices)
    for line in lines:
        person = line.application.person
        number = line.payee_id_number if line.payee_type == PayeeType.PERSON else ""
        if number:
            revealed.append(person.pk)
        purpose = _("Medical assistance, case %(case)s") % {"case": line.application}
        if line.kind != PaymentLineKind.REGULAR:
            purpose = f"{kinds[line.kind]}, " + purpose
        if line.deduction:
            purpose += _(", less %(amount)s recovered") % {"amount": f"{line.deduction:,.2f}"}
        rows.append([
            line.pk, batch.number, line.application.number, kinds[line.kind], line.payee_name, number,
            line.payee_bank, line.payee_account, line.amount, purpose,
            line.gross_amount if line.gross_amount is not None else line.amount, line.deduction,
        ])
    if fmt == "csv":
        result = (f"{batch.number}.csv", "text/csv; charset=utf-8", exports.csv_bytes(export_headers(), rows))
    else:
        result = (f"{batch.number}.xlsx", exports.XLSX_CONTENT_TYPE,
                  exports.xlsx_bytes(export_headers(), rows, title=batch.number))
    with transaction.atomic():
        if revealed:
            log_id_number_views(acting_user=acting_user, person_ids=revealed,
                                context=_("bank file of payment batch %(batch)s") % {"batch": batch.number},
                                reason=_("the bank checks name, identity number and account before paying"))
        BankFileDelivery.objects.create(batch=batch, delivered_by=acting_user, file_format=fmt, rows=len(rows),
                                        total_amount=sum((line.amount for line in lines), ZERO),
                                        sha256=hashlib.sha256(result[2]).hexdigest())
        PaymentBatch.objects.filter(pk=batch.pk).update(exported_at=timezone.now())
    return result
