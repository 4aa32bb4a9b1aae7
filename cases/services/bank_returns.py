"""The bank's return file (回盘文件) of a payment batch: received by a payment officer, applied by a
worker.

Format — CSV (UTF-8 with or without BOM, GBK, GB18030) or Excel (.xlsx, first sheet), read by
``portal.tabular``; the first row is the header, one row per payment line, columns in any order::

    明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因
    1024,PB-360700-000012,张三,6217000012345678,1234.56,成功,B20240301001,
    1025,PB-360700-000012,李四,6217000087654321,800.00,失败,,账户已销户

* required: 明细号 (the line number of the bank file, ``Line``/序号 there), 账号, 金额, 结果;
  optional: 批次号 (must be the batch's number when given), 收款人 (not checked: banks shorten
  names), 银行流水号 (required on paid rows), 失败原因 (required on failed rows);
* 结果: 成功 / 失败 (also 支付成功, 支付失败, paid, failed, success, fail);
* the column names of the exported bank file (``payments.export_headers()``, Chinese or English:
  序号/Line, 批次号/Batch, 收款人/Payee, 银行账号/Account, 金额（元）/Amount (yuan)) and English
  names (line_id, batch, payee, account, amount, result/outcome, bank_reference, reason) are
  accepted too, so the exported file with two or three columns added is a valid return file.

:func:`receive_bank_return` (in the request) checks the sender, the size and the kind of file
(``portal.uploads.check_table_upload``), stores the file with its sha256 (computed while it arrived)
and enqueues ``cases.apply_bank_return`` in the same transaction; the encoding, a workbook's
inflated size and the header are read by the worker, which fails a file it cannot read, saying why. The same file (sha256) for the same batch is received once: sending it again returns
the earlier one (and retries it if it failed).

:func:`apply_bank_return` is the worker's part. It first reads the stored file and checks every row
before anything is applied — the line belongs to the batch, account and amount are what was sent (a
mismatch is a rejected row naming the column), the result is known, a paid row has its bank
reference and a failed row its reason, a line appears once, the uploader did not approve the case
(four eyes); a row the reader could not read (a NUL character, a quote never closed, a cell too
long) is rejected naming its column — and stores the rows that passed and the rejected rows
(:class:`~cases.models.BankReturnError`, paged on the page and in the API, streamed as downloads)
in one transaction (once). Then it records the rows through
``payments.apply_line_result`` (the guarantees of ``record_results``: four eyes, the same result
twice is ignored and counted as already recorded, a different result is a rejected row, never an
exception that kills the job) in chunks of :data:`CHUNK_SIZE` lines, one transaction each, which
also advances the cursor ``rows_done`` and the counts. A worker that dies mid-way loses at most the
chunk it was in (rolled back); the job, delivered again, carries on after the last committed chunk.
Running it again after it finished changes nothing.
"""
from __future__ import annotations

import csv
import logging
import os
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import tabular, uploads
from portal.jobs import enqueue
from portal.numbers import NotPlainNumber, plain_decimal

from ..access import PAYMENT_ROLES, require
from ..models import BankReturn, BankReturnError, BankReturnStatus, PaymentBatch, PaymentLine, PaymentLineStatus
from . import payments, workflow
from .errors import Conflict, NotFound, ServiceError

log = logging.getLogger(__name__)

APPLY_TASK = "cases.apply_bank_return"
CHUNK_SIZE = 200  # lines recorded per transaction by the worker
MAX_BYTES = 50 * 1024 * 1024
# What portal.tabular checks before and while reading a return file (a batch has far fewer lines).
READ_LIMITS = tabular.DEFAULT_LIMITS.replace(max_bytes=MAX_BYTES, max_rows=100_000, max_cell_chars=1000)

FIELDS = ("line_id", "batch", "payee", "account", "amount", "result", "reference", "reason")
REQUIRED = ("line_id", "account", "amount", "result")
#: The bank's column names first (they name the field in messages), then other accepted names.
ALIASES = {
    "line_id": ["明细号", "明细编号", "序号", "line", "line_id", "line id"],
    "batch": ["批次号", "批次", "batch", "batch number"],
    "payee": ["收款人", "户名", "收款人姓名", "payee"],
    "account": ["账号", "银行账号", "收款账号", "account", "bank account"],
    "amount": ["金额", "金额（元）", "金额(元)", "amount", "amount (yuan)"],
    "result": ["结果", "处理结果", "支付结果", "result", "outcome"],
    "reference": ["银行流水号", "流水号", "bank reference", "bank_reference", "reference"],
    "reason": ["失败原因", "原因", "reason", "failure reason", "failure_reason"],
}
OUTCOMES = {
    "成功": PaymentLineStatus.PAID, "支付成功": PaymentLineStatus.PAID, "交易成功": PaymentLineStatus.PAID,
    "paid": PaymentLineStatus.PAID, "success": PaymentLineStatus.PAID,
    "失败": PaymentLineStatus.FAILED, "支付失败": PaymentLineStatus.FAILED, "交易失败": PaymentLineStatus.FAILED,
    "failed": PaymentLineStatus.FAILED, "fail": PaymentLineStatus.FAILED,
}
TEMPLATE_HEADER = ["明细号", "批次号", "收款人", "账号", "金额", "结果", "银行流水号", "失败原因"]
# Positions in payments.export_headers() of the columns a return file may keep.
_EXPORT_COLUMNS = {0: "line_id", 1: "batch", 4: "payee", 7: "account", 8: "amount"}


def _key(text) -> str:
    return re.sub(r"\s+", " ", str(text or "").strip().lstrip("\ufeff")).lower()


def header_lookup() -> dict[str, str]:
    """Normalised column name → field (the bank's names, English names, the export's headers)."""
    lookup = {_key(alias): field for field, aliases in ALIASES.items() for alias in aliases}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            headers = payments.export_headers()
        for index, field in _EXPORT_COLUMNS.items():
            lookup.setdefault(_key(headers[index]), field)
    return lookup


def map_header(header: list[str]) -> dict[str, str]:
    """field → the column name as written in the file. Raises ValidationError for missing or repeated
    columns."""
    lookup = header_lookup()
    columns: dict[str, str] = {}
    for name in header:
        field = lookup.get(_key(name))
        if field is None:
            continue
        if field in columns:
            raise ValidationError({"file": [_("Columns %(a)s and %(b)s both hold %(field)s; keep one.")
                                             % {"a": columns[field], "b": name, "field": ALIASES[field][0]}]})
        columns[field] = name
    missing = [ALIASES[f][0] for f in REQUIRED if f not in columns]
    if missing:
        raise ValidationError({"file": [
            _("The header row lacks the columns %(missing)s. A return file has the header %(expected)s.")
            % {"missing": "、".join(missing), "expected": ",".join(TEMPLATE_HEADER)}
        ]})
    return columns


def _account(text: str) -> str:
    return re.sub(r"[\s-]", "", text or "")


def _amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"[\s,，¥￥]", "", text or "")
    try:  # plain decimals only: never 1e10, 1_000 or other scripts' digits (portal.numbers)
        return plain_decimal(cleaned)
    except NotPlainNumber:
        return None


def check_rows(batch: PaymentBatch, acting_user, columns: dict[str, str], rows) -> tuple[int, list, list]:
    """Check every row. Returns ``(rows_total, valid_rows, errors)``."""
    lines = {
        pk: (account, amount, approver)
        for pk, account, amount, approver in PaymentLine.objects.filter(batch=batch).values_list(
            "pk", "payee_account", "amount", "application__approved_by_id")
    }
    total, valid, errors, seen = 0, [], [], {}

    def value(data: dict, field: str) -> str:
        return (data.get(columns[field]) or "").strip() if field in columns else ""

    for row_no, data in rows:
        total += 1

        def reject(field: str, reason: str, row_no: int = row_no) -> None:
            errors.append({"row": row_no, "field": columns.get(field, ALIASES[field][0]), "reason": reason})

        raw_id = value(data, "line_id")
        try:  # a plain number (Excel may write 12 as 12.0); never 1e999999999 (a billion-digit int)
            number = plain_decimal(raw_id) if raw_id else None
            line_id = int(number) if number is not None and number == number.to_integral_value() else None
        except NotPlainNumber:
            line_id = None
        if line_id is None:
            reject("line_id", _("“%(value)s” is not a line number.") % {"value": raw_id[:40]})
            continue
        if line_id not in lines:
            reject("line_id", _("Line %(id)s is not in batch %(batch)s.") % {"id": line_id, "batch": batch})
            continue
        if line_id in seen:
            reject("line_id", _("Line %(id)s appears twice (first in row %(row)s); only the first is applied.")
                   % {"id": line_id, "row": seen[line_id]})
            continue
        seen[line_id] = row_no
        sent_account, sent_amount, approver = lines[line_id]
        batch_no = value(data, "batch")
        if batch_no and batch_no != batch.number:
            reject("batch", _("The batch number %(got)s is not %(batch)s.") % {"got": batch_no[:40], "batch": batch})
            continue
        account = _account(value(data, "account"))
        if account != _account(sent_account):
            reject("account", _("The account %(got)s does not match the account sent for line %(id)s (%(sent)s).")
                   % {"got": account[:40] or "—", "id": line_id, "sent": sent_account})
            continue
        raw_amount = value(data, "amount")
        amount = _amount(raw_amount)
        if amount is None or amount != sent_amount:
            reject("amount", _("The amount %(got)s does not match the amount sent for line %(id)s (%(sent)s).")
                   % {"got": raw_amount[:40] or "—", "id": line_id, "sent": sent_amount})
            continue
        raw_result = value(data, "result")
        outcome = OUTCOMES.get(_key(raw_result))
        if outcome is None:
            reject("result", _("The result “%(got)s” is neither 成功 (paid) nor 失败 (failed).") % {"got": raw_result[:40]})
            continue
        reference, reason = value(data, "reference")[:60], value(data, "reason")[:200]
        if outcome == PaymentLineStatus.PAID and not reference:
            reject("reference", _("A paid line needs the bank reference (银行流水号)."))
            continue
        if outcome == PaymentLineStatus.FAILED and not reason:
            reject("reason", _("A failed line needs the bank's reason (失败原因)."))
            continue
        if approver is not None and approver == acting_user.pk:
            reject("line_id", _("You approved the case of line %(id)s; another payment officer must record its "
                                "payment (four eyes).") % {"id": line_id})
            continue
        valid.append([row_no, line_id, str(outcome), reference if outcome == PaymentLineStatus.PAID else "",
                      reason if outcome == PaymentLineStatus.FAILED else ""])
    return total, valid, errors


def _requeue_if_failed(bank_return: BankReturn) -> None:
    """Sending a failed return file again retries it where it stopped."""
    if bank_return.status == BankReturnStatus.FAILED:
        with transaction.atomic():
            if BankReturn.objects.filter(pk=bank_return.pk, status=BankReturnStatus.FAILED).update(
                    status=BankReturnStatus.PENDING, failure="", finished_at=None):
                enqueue(APPLY_TASK, bank_return.pk)
        bank_return.refresh_from_db()


def receive_bank_return(*, acting_user, batch_id: int, fileobj, filename: str) -> BankReturn:
    """Receive the bank's return file for a batch (payment officers of the batch's region).

    The request checks only the sender, the size and the kind of file (its first bytes: an .xls is
    refused), ``portal.uploads.check_table_upload``; it stores the file with the sha256 computed
    while it arrived and enqueues the worker, which reads the encoding, a workbook's inflated size,
    the header and the rows (:func:`apply_bank_return`): a file it cannot read ends as a failed
    return file saying why. Returns the :class:`BankReturn` with ``created`` set (False: the same
    file was received before for this batch, and that one is returned). An empty, too large or
    .xls file raises ``ValidationError({"file": …})`` and nothing is stored."""
    batch = PaymentBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Payment batch not found."))
    require(acting_user, PAYMENT_ROLES, batch.region_id)
    payments.require_exported(batch)
    if fileobj is None:
        raise ValidationError({"file": [_("Choose the bank's return file.")]})
    try:  # the size and the kind of file; the encoding and the header are the worker's
        size, file_format = uploads.check_table_upload(fileobj, filename, READ_LIMITS)
    except tabular.TableError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    name = os.path.basename(str(filename or "")) or "return.csv"
    digest = uploads.sha256_of_upload(fileobj)
    existing = BankReturn.objects.filter(batch=batch, sha256=digest).first()
    if existing is not None:
        _requeue_if_failed(existing)
        existing.created = False
        return existing
    bank_return = BankReturn(
        batch=batch, original_name=name[:255], file_format=file_format, file_size=size, sha256=digest,
        uploaded_by=acting_user,
    )
    fileobj.seek(0)
    bank_return.file.save(name, File(fileobj), save=False)
    try:
        with transaction.atomic():
            bank_return.save()
            enqueue(APPLY_TASK, bank_return.pk)
    except IntegrityError:  # the same file arrived a moment ago
        bank_return.file.delete(save=False)
        existing = BankReturn.objects.filter(batch=batch, sha256=digest).first()
        if existing is None:
            raise
        existing.created = False
        return existing
    bank_return.created = True
    return bank_return



class FileRefused(ValueError):
    """The stored file cannot be read as a return file (the message says why)."""


def check_file(bank_return_id: int) -> None:
    """Read the stored file and check every row (the worker's first step), storing the rows that
    passed, the rejected rows and the counts in one transaction. Done once: a return file already
    checked is left as it is. Raises :class:`FileRefused` when the file as a whole cannot be read."""
    head = BankReturn.objects.select_related("uploaded_by", "batch").get(pk=bank_return_id)
    if head.checked:
        return
    read_errors: list[dict] = []  # rows the reader could not read (NUL, a quote never closed, a cell too long)
    try:
        with head.file.open("rb") as fileobj:
            header, rows = tabular.iter_rows(
                fileobj, filename=head.original_name, limits=READ_LIMITS,
                on_problem=lambda row, column, message: read_errors.append({"row": row, "field": column, "reason": message}))
            columns = map_header(header)
            total, valid, errors = check_rows(head.batch, head.uploaded_by, columns, rows)
    except tabular.TableError as exc:
        raise FileRefused(str(exc)) from None
    except ValidationError as exc:
        raise FileRefused(" ".join(exc.messages)) from None
    except csv.Error as exc:  # a malformed CSV
        raise FileRefused(_("The file is not a readable CSV: %(error)s") % {"error": exc}) from None
    if read_errors:
        total += len({e["row"] for e in read_errors})
        errors = sorted(errors + read_errors, key=lambda e: e["row"])
    if total == 0:
        raise FileRefused(_("The file has a header but no rows."))
    with transaction.atomic():
        state = BankReturn.objects.select_for_update().filter(pk=bank_return_id).only("checked").first()
        if state is None or state.checked:
            return
        BankReturnError.objects.bulk_create(
            (BankReturnError(bank_return_id=bank_return_id, row=e["row"], field=str(e["field"])[:100],
                             reason=str(e["reason"])) for e in errors), batch_size=1000)
        BankReturn.objects.filter(pk=bank_return_id).update(
            checked=True, rows_total=total, rows_valid=len(valid), rows_rejected=len(errors), valid_rows=valid)


def apply_bank_return(*, bank_return_id: int) -> BankReturn | None:
    """Apply the checked rows of a return file, :data:`CHUNK_SIZE` lines per transaction, as its
    uploader. Idempotent and resumable (see the module docstring). Returns the bank return."""
    bank_return_id = int(bank_return_id)
    now = timezone.now()
    started = BankReturn.objects.filter(
        pk=bank_return_id, status__in=[BankReturnStatus.PENDING, BankReturnStatus.PROCESSING]
    ).update(status=BankReturnStatus.PROCESSING, started_at=Coalesce("started_at", now))
    if not started:  # unknown, finished or failed: nothing to do
        return BankReturn.objects.filter(pk=bank_return_id).first()
    try:
        check_file(bank_return_id)
    except FileRefused as exc:
        BankReturn.objects.filter(pk=bank_return_id, status=BankReturnStatus.PROCESSING).update(
            status=BankReturnStatus.FAILED, failure=str(exc)[:2000], finished_at=timezone.now())
        return BankReturn.objects.filter(pk=bank_return_id).first()
    except Exception as exc:  # noqa: BLE001 - shown on the return file; the job ends
        log.exception("bank return %s could not be checked", bank_return_id)
        BankReturn.objects.filter(pk=bank_return_id, status=BankReturnStatus.PROCESSING).update(
            status=BankReturnStatus.FAILED, failure=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now())
        return BankReturn.objects.filter(pk=bank_return_id).first()
    head = BankReturn.objects.select_related("uploaded_by").only("uploaded_by", "batch_id", "valid_rows").get(
        pk=bank_return_id)
    rows, user = head.valid_rows, head.uploaded_by
    try:
        while _apply_chunk(bank_return_id, rows, user):
            pass
    except Exception as exc:  # noqa: BLE001 - whatever went wrong is shown on the return file; the job ends
        log.exception("bank return %s failed", bank_return_id)
        message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        BankReturn.objects.filter(pk=bank_return_id, status=BankReturnStatus.PROCESSING).update(
            status=BankReturnStatus.FAILED, failure=str(message)[:2000], finished_at=timezone.now())
    return BankReturn.objects.filter(pk=bank_return_id).first()


def _apply_chunk(bank_return_id: int, rows: list, user) -> bool:
    """Apply the next chunk in one transaction. False when there was nothing left (finished)."""
    counted = ("rows_done", "lines_paid", "lines_failed", "lines_already_recorded", "rows_rejected")
    with transaction.atomic():
        state = (BankReturn.objects.select_for_update().filter(pk=bank_return_id)
                 .only("status", "batch_id", *counted).first())
        if state is None or state.status != BankReturnStatus.PROCESSING:
            return False
        start = state.rows_done
        chunk = rows[start:start + CHUNK_SIZE]
        batch = PaymentBatch.objects.select_for_update().get(pk=state.batch_id)
        now = timezone.now()
        if not chunk:
            payments.close_if_complete(batch, now)
            BankReturn.objects.filter(pk=bank_return_id).update(status=BankReturnStatus.DONE, finished_at=now)
            return False
        require(user, PAYMENT_ROLES, batch.region_id)
        lines = {
            line.pk: line
            for line in PaymentLine.objects.select_for_update(of=("self",))
            .filter(batch=batch, pk__in=[r[1] for r in chunk]).select_related("application", "adjustment", "result_by")
        }
        new_errors = []
        for row_no, line_id, outcome, reference, reason in chunk:
            line = lines.get(line_id)
            try:
                if line is None:
                    raise Conflict(_("Line %(id)s is no longer in batch %(batch)s.") % {"id": line_id, "batch": batch})
                applied = payments.apply_line_result(acting_user=user, line=line, outcome=outcome,
                                                     reference=reference, reason=reason, now=now)
            except (ServiceError, workflow.TransitionError) as exc:
                new_errors.append({"row": row_no, "field": ALIASES["result"][0], "reason": str(exc.message)})
                state.rows_rejected += 1
                continue
            if not applied:
                state.lines_already_recorded += 1
            elif outcome == PaymentLineStatus.PAID:
                state.lines_paid += 1
            else:
                state.lines_failed += 1
        state.rows_done = start + len(chunk)
        payments.close_if_complete(batch, now)
        state.save(update_fields=list(counted))
        if new_errors:
            BankReturnError.objects.bulk_create(
                BankReturnError(bank_return_id=bank_return_id, row=e["row"], field=e["field"], reason=e["reason"])
                for e in new_errors)
    return True
