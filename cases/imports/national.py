"""Import claims from the national medical-security platform's settlement records (``setlinfo``).

Two steps, like every upload of the portal:

* :func:`receive_claim_import` (in the request) checks the sender, the size and the kind of file
  (``portal.uploads.check_table_upload``), stores the file with its sha256 (computed while it
  arrived) and enqueues ``cases.process_claim_import`` in the same transaction. The same file from
  the same caseworker is received once: a double click or a second upload answers with the first
  import (in progress or finished), never twice and never a 500; ``again=True`` imports a finished
  file once more (after registering the persons it lacked).
* :func:`process_claim_import` (the worker) checks the stored file against the limits before
  parsing it (for .xlsx the inflated size from the zip's directory; the encoding), reads the header
  (a file without the required columns fails, naming them) and the rows — a CSV (UTF-8, UTF-8 with BOM, GBK
  or GB18030 — detected) or an .xlsx workbook (first sheet, header in row 1) whose columns carry the
  national field names (or their Chinese labels), see :data:`COLUMNS` and
  ``cases/imports/README.md`` — reporting its progress, and imports it.

* Every row is validated; a bad row is reported with its row number (as Excel shows it), the
  column, the value and the reason — unknown ``med_type`` / ``insutype`` / ``psn_cert_type``
  values are named row by row — and the good rows are imported.
* Re-importing a ``setl_id`` already recorded is not a duplicate: identical → counted as
  *unchanged* and skipped; different → the claim is *updated* when no case under review or
  approved holds it, otherwise the row is reported and the claim left as it was.
* The import is one transaction (nothing half-imported on a crash) and set-based: persons and
  existing claims are read in chunks, new claims written with ``bulk_create`` — no query per row.
  The rejected rows are stored as rows (:class:`~cases.models.ClaimImportError`): pages and the API
  page through them, downloads stream them.
* Idempotent and safe to run twice: the worker locks the import before writing and leaves a
  finished one alone; a worker that died left nothing (one transaction) and the job runs again.
* Open cases of the persons and years touched are re-settled on commit.
"""
from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import tabular, uploads
from portal.audit.context import Channel, audit_context
from portal.jobs import enqueue
from portal.roles.scoping import scope_queryset

from .. import identity_numbers
from ..access import CASEWORK_ROLES, holds_anywhere
from ..models import (
    EDITABLE_STATES,
    ApplicationClaim,
    Claim,
    ClaimAllocation,
    ClaimImport,
    ClaimImportError,
    ClaimKind,
    ClaimSource,
    Person,
    Scheme,
    UploadStatus,
)
from ..services import settlement
from ..services.errors import CaseCode, NotPermitted
from ..services.values import clean_claim

log = logging.getLogger(__name__)

PROCESS_TASK = "cases.process_claim_import"
MAX_ROWS = 50_000
# What an import file may be (portal.tabular checks it before and while reading).
LIMITS = tabular.DEFAULT_LIMITS.replace(max_bytes=32 * 1024 * 1024, max_rows=MAX_ROWS, max_cell_chars=2000)
CHUNK = 1000

#: med_type (医疗类别) → claim kind. Anything else is reported, naming the value.
MED_TYPES = {
    "11": ClaimKind.OUTPATIENT_GENERAL,  # 普通门诊
    "12": ClaimKind.OUTPATIENT_GENERAL,  # 门诊挂号
    "13": ClaimKind.OUTPATIENT_GENERAL,  # 急诊
    "14": ClaimKind.OUTPATIENT_CHRONIC,  # 门诊慢特病
    "21": ClaimKind.INPATIENT,  # 普通住院
    "22": ClaimKind.INPATIENT,  # 外伤住院
    "23": ClaimKind.INPATIENT,  # 转外诊治住院
    "24": ClaimKind.INPATIENT,  # 急诊转住院
}
#: insutype (险种类型) → scheme.
INSUTYPES = {"310": Scheme.EMPLOYEE, "390": Scheme.RESIDENT}
#: hosp_lv (医院等级): national two-digit codes, or the level itself (1, 2, 3).
HOSPITAL_LEVELS = {
    "01": 3, "02": 3, "03": 3, "04": 3,  # 三级特等/甲/乙/丙
    "05": 2, "06": 2, "07": 2,  # 二级甲/乙/丙
    "08": 1, "09": 1, "10": 1,  # 一级甲/乙/丙
    "11": 1,  # 无等级
    "1": 1, "2": 2, "3": 3,
}
LOCATIONS = {
    "county": "county", "city": "city", "province": "province", "out_of_province": "out_of_province",
    "县内": "county", "县域内": "county", "市内": "city", "市域内": "city", "省内": "province", "省外": "out_of_province",
    "跨省": "out_of_province",
}
CERT_TYPE_RESIDENT_ID = "01"


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # 中文
    meaning: str
    maps_to: str
    required: bool = False
    default: str = ""


#: The columns read, in the order the format page shows them. ``required`` columns must exist
#: in the header; values may be empty only where a default is stated.
COLUMNS: list[Column] = [
    Column("setl_id", "结算ID", gettext_lazy("settlement id"), gettext_lazy("the claim's external id (unique)"), True),
    Column("certno", "证件号码", gettext_lazy("certificate number"), gettext_lazy("the person: a registered person of your regions"), True),
    Column("psn_cert_type", "证件类型", gettext_lazy("certificate type"), gettext_lazy("must be 01 (resident identity card)"), False, "01"),
    Column("psn_name", "人员姓名", gettext_lazy("name"), gettext_lazy("checked against the registered name"), False),
    Column("insutype", "险种类型", gettext_lazy("insurance type"),
           gettext_lazy("310 employee / 390 resident: must match the person's scheme; chooses hifob_pay or hifmi_pay"), False,
           gettext_lazy("the person's scheme")),
    Column("insu_optins", "参保机构医保区划", gettext_lazy("area of enrolment"), gettext_lazy("recorded with the claim (6 digits)"), False),
    Column("fixmedins_code", "定点医药机构编号", gettext_lazy("hospital code"), gettext_lazy("hospital code"), False),
    Column("fixmedins_name", "定点医药机构名称", gettext_lazy("hospital name"), gettext_lazy("hospital name"), False),
    Column("hosp_lv", "医院等级", gettext_lazy("hospital level"),
           gettext_lazy("01–04 → level 3, 05–07 → level 2, 08–10 and 11 (no grade) → level 1; 1, 2, 3 as such"), False, "1"),
    Column("med_type", "医疗类别", gettext_lazy("medical type"),
           gettext_lazy("11, 12, 13 → general outpatient; 14 → chronic / special outpatient; 21, 22, 23, 24 → inpatient"), True),
    Column("setl_time", "结算时间", gettext_lazy("settlement time"), gettext_lazy("the claim's date (the date part)"), True),
    Column("enddate", "结束日期", gettext_lazy("end date"), gettext_lazy("the claim's date when setl_time is empty"), False),
    Column("medfee_sumamt", "医疗费总额", gettext_lazy("total cost"), gettext_lazy("total T"), True),
    Column("inscp_scp_amt", "符合政策范围金额", gettext_lazy("in-policy-scope amount"), gettext_lazy("policy scope P"), True),
    Column("hifp_pay", "统筹基金支出", gettext_lazy("basic pooled fund paid"), gettext_lazy("basic insurance B (empty: computed by the policy)"), False),
    Column("hifmi_pay", "居民大病保险资金支出", gettext_lazy("resident critical-illness insurance paid"),
           gettext_lazy("critical-illness insurance C for the resident scheme (empty: computed)"), False),
    Column("hifob_pay", "职工大额医疗费用补助", gettext_lazy("employee large-expense subsidy"),
           gettext_lazy("critical-illness insurance C for the employee scheme (empty: computed)"), False),
    Column("maf_pay", "医疗救助基金支出", gettext_lazy("assistance fund paid"), gettext_lazy("assistance already paid at the hospital"), False, "0"),
    Column("special_disease", "特殊疾病", gettext_lazy("portal column: special disease"), gettext_lazy("1 / 0 (是 / 否)"), False, "0"),
    Column("location", "就医地", gettext_lazy("portal column: where treated"),
           gettext_lazy("county, city, province, out_of_province (or 县内, 市内, 省内, 省外)"), False, "county"),
    Column("referral_compliant", "按规定转诊", gettext_lazy("portal column: referral compliant"), gettext_lazy("1 / 0 (是 / 否)"), False, "1"),
]
IGNORED = ("mdtrt_id", "psn_no", "begndate", "fulamt_ownpay_amt", "overlmt_selfpay", "act_pay_dedc", "psn_pay")
_ALIASES = {c.name: c.name for c in COLUMNS} | {c.label: c.name for c in COLUMNS}
_LABELS = {c.name: c.label for c in COLUMNS}


def column_label(column: str) -> str:
    """The Chinese label of a national column (``hifp_pay`` → 统筹基金支出), as a clerk reads it."""
    return _LABELS.get(column, column)


def format_description() -> list[dict]:
    """The mapping as rows for the UI's format page and the API."""
    return [
        {"column": c.name, "label": c.label, "meaning": str(c.meaning), "maps_to": str(c.maps_to),
         "required": c.required, "default": str(c.default)}
        for c in COLUMNS
    ]


def _canonical(header: str) -> str | None:
    key = (header or "").strip().lstrip("\ufeff")
    return _ALIASES.get(key) or _ALIASES.get(key.lower())


class _Report:
    def __init__(self):
        self.errors: list[dict] = []
        self.bad_rows: set[int] = set()

    def add(self, row: int, column: str, value, message: str):
        self.errors.append({"row": row, "column": column, "label": column_label(column),
                            "value": "" if value is None else str(value)[:100], "message": str(message)})
        self.bad_rows.add(row)


def _parse_row(number: int, raw: dict, report: _Report) -> dict | None:
    """One row → the claim's values plus ``certno``/``scheme``; problems go to the report."""
    bad_before = len(report.errors)
    get = lambda name: (raw.get(name) or "").strip()  # noqa: E731

    cert_type = get("psn_cert_type") or CERT_TYPE_RESIDENT_ID
    if cert_type.zfill(2) != CERT_TYPE_RESIDENT_ID:
        report.add(number, "psn_cert_type", cert_type, _(
            "certificate type %(value)s is not supported: persons are identified by the resident identity card (01)"
        ) % {"value": cert_type})
    certno = identity_numbers.normalise(get("certno"))
    try:
        identity_numbers.validate(certno)
    except identity_numbers.IdentityNumberError as exc:
        report.add(number, "certno", identity_numbers.mask(certno) if len(certno) == 18 else certno, str(exc))
    med_type = get("med_type")
    kind = MED_TYPES.get(med_type)
    if kind is None:
        report.add(number, "med_type", med_type, _(
            "medical type “%(value)s” cannot be mapped (known: 11, 12, 13 outpatient; 14 chronic; 21–24 inpatient)"
        ) % {"value": med_type})
    insutype = get("insutype")
    scheme = None
    if insutype:
        scheme = INSUTYPES.get(insutype)
        if scheme is None:
            report.add(number, "insutype", insutype, _(
                "insurance type “%(value)s” cannot be mapped (known: 310 employee, 390 resident)") % {"value": insutype})
    level_raw = get("hosp_lv")
    level = HOSPITAL_LEVELS.get(level_raw, None) if level_raw else 1
    if level is None:
        report.add(number, "hosp_lv", level_raw, _("hospital level “%(value)s” cannot be mapped (01–11 or 1–3)") % {"value": level_raw})
    location_raw = get("location")
    location = LOCATIONS.get(location_raw.lower() if location_raw.isascii() else location_raw) if location_raw else "county"
    if location is None:
        report.add(number, "location", location_raw, _(
            "“%(value)s” is not a place of treatment (county, city, province, out_of_province)") % {"value": location_raw})
    area = get("insu_optins")
    if area and not (len(area) == 6 and area.isdigit()):
        report.add(number, "insu_optins", area, _("the area of enrolment must be a 6-digit code"))
    date_raw = get("setl_time") or get("enddate")
    date_column = "setl_time" if get("setl_time") else "enddate"
    values = {
        "setl_id": get("setl_id"), "date": date_raw, "kind": kind or ClaimKind.INPATIENT,
        "special_disease": get("special_disease"), "hospital_level": str(level or 1), "location": location or "county",
        "referral_compliant": get("referral_compliant"), "total": get("medfee_sumamt"),
        "policy_scope": get("inscp_scp_amt"), "basic_paid": get("hifp_pay"), "critical_paid": None,
        "maf_pay": get("maf_pay"), "hospital_name": get("fixmedins_name"), "hospital_code": get("fixmedins_code"),
    }
    if not values["setl_id"]:
        report.add(number, "setl_id", "", _("setl_id is required"))
    labels = {"date": date_column, "total": "medfee_sumamt", "policy_scope": "inscp_scp_amt", "basic_paid": "hifp_pay",
              "critical_paid": "hifmi_pay", "maf_pay": "maf_pay", "hospital_name": "fixmedins_name",
              "hospital_code": "fixmedins_code", "setl_id": "setl_id", "kind": "med_type", "hospital_level": "hosp_lv",
              "special_disease": "special_disease", "referral_compliant": "referral_compliant", "location": "location"}
    return {"values": values, "labels": labels, "certno": certno, "scheme": scheme, "med_type": med_type,
            "insutype": insutype, "area": area, "raw": raw, "ok": len(report.errors) == bad_before}


def _finish_row(number: int, parsed: dict, person: Person, report: _Report) -> dict | None:
    """With the person known: choose C by scheme, check the name and scheme, validate amounts."""
    raw = parsed["raw"]
    scheme = parsed["scheme"] or person.scheme
    if parsed["scheme"] and parsed["scheme"] != person.scheme:
        report.add(number, "insutype", parsed["insutype"], _(
            "insurance type %(value)s (%(scheme)s) does not match the person's scheme (%(person_scheme)s)"
        ) % {"value": parsed["insutype"], "scheme": Scheme(parsed["scheme"]).label, "person_scheme": person.get_scheme_display()})
    name = (raw.get("psn_name") or "").strip()
    if name and name != person.name:
        report.add(number, "psn_name", name, _("the name does not match the registered person (%(name)s)") % {"name": person.name})
    critical_column = "hifob_pay" if scheme == Scheme.EMPLOYEE else "hifmi_pay"
    values = dict(parsed["values"], critical_paid=(raw.get(critical_column) or "").strip() or None)
    labels = dict(parsed["labels"], critical_paid=critical_column)
    # messages name the columns by their Chinese labels (统筹基金支出 + 居民大病保险资金支出), not hifp_pay + hifmi_pay
    chinese = {field: column_label(column) for field, column in labels.items()}
    cleaned, errors = clean_claim(values, labels=chinese)
    for field, messages in errors.items():
        for message in messages:
            column = labels.get(field, field)
            prefix = chinese.get(field, field) + ": "
            report.add(number, column, values.get(field), message[len(prefix):] if message.startswith(prefix) else message)
    if not parsed["ok"] or errors or number in report.bad_rows:
        return None
    cleaned.update(med_type=parsed["med_type"][:10], insutype=parsed["insutype"][:10], enrolment_area=parsed["area"])
    return cleaned


COMPARED = ("date", "kind", "special_disease", "hospital_level", "location", "referral_compliant", "total",
            "policy_scope", "basic_paid", "critical_paid", "maf_pay", "hospital_name", "hospital_code", "med_type",
            "insutype", "enrolment_area")


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _table_error(exc: Exception) -> ValidationError:
    return ValidationError({"file": [str(exc)]})


def _required_columns(header: list[str]) -> dict[str, str]:
    """file column → national name; refuses a header without the required columns."""
    mapping = {}
    for h in header:
        name = _canonical(h)
        if name and name not in mapping.values():
            mapping[h] = name
    missing = [c.name for c in COLUMNS if c.required and c.name not in mapping.values()
               and not (c.name == "setl_time" and "enddate" in mapping.values())]
    if missing:
        raise ValidationError({"file": [_("The file lacks the required columns: %(cols)s.") % {"cols": ", ".join(missing)}]})
    return mapping



def earlier_import(user, digest: str) -> ClaimImport | None:
    """The latest import of the file with this content by this caseworker."""
    return ClaimImport.objects.filter(uploaded_by=user, sha256=digest).order_by("-attempt").first()


def receive_claim_import(*, acting_user, fileobj, filename: str, again: bool = False) -> ClaimImport:
    """Receive a settlement-record file: its size and kind checked (``ValidationError({"file":
    [...]})`` otherwise, nothing stored), stored, and read and processed by the worker (a file it
    cannot read — its encoding, its header — ends as a failed import saying why). Returns the :class:`ClaimImport` with ``created`` (False: the same file was received
    before from this caseworker — in progress, or finished and ``again`` not asked — and that import
    is returned)."""
    if not holds_anywhere(acting_user, CASEWORK_ROLES):
        raise NotPermitted(_("Importing claims needs the caseworker role."), code=CaseCode.ROLE_REQUIRED)
    if fileobj is None:
        raise ValidationError({"file": [_("Choose a file to import.")]})
    try:  # the size and the kind of file; the encoding and the header are the worker's
        size, file_format = uploads.check_table_upload(fileobj, filename, LIMITS)
    except tabular.TableError as exc:
        raise _table_error(exc) from None
    digest = uploads.sha256_of_upload(fileobj)
    earlier = earlier_import(acting_user, digest)
    if earlier is not None and (not again or not earlier.is_finished):
        if earlier.status == UploadStatus.FAILED:
            retry_failed(earlier)
        earlier.created = False
        return earlier
    record = ClaimImport(
        uploaded_by=acting_user, filename=os.path.basename(str(filename or ""))[:200] or "claims.csv",
        file_format=file_format, encoding="", file_size=size, sha256=digest,
        attempt=(earlier.attempt + 1) if earlier is not None else 1, status=UploadStatus.PENDING,
    )
    fileobj.seek(0)
    record.file.save(record.filename, File(fileobj), save=False)
    try:
        with transaction.atomic():
            record.save()
            enqueue(PROCESS_TASK, record.pk)
    except IntegrityError:  # the same file arrived a moment ago (a double click)
        record.file.delete(save=False)
        earlier = earlier_import(acting_user, digest)
        if earlier is None:
            raise
        earlier.created = False
        return earlier
    record.created = True
    return record


def retry_failed(record: ClaimImport) -> None:
    """Sending a failed import again retries it (its stored file)."""
    with transaction.atomic():
        if ClaimImport.objects.filter(pk=record.pk, status=UploadStatus.FAILED).update(
                status=UploadStatus.PENDING, progress=0, failure="", finished_at=None):
            enqueue(PROCESS_TASK, record.pk)
    record.refresh_from_db()


class _Progress:
    """Writes the share of the file read (0–90 %) at most twice a second."""

    def __init__(self, record_id: int, table):
        self.record_id, self.table, self.last = record_id, table, 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            ClaimImport.objects.filter(pk=self.record_id, status=UploadStatus.PROCESSING).update(
                progress=int(90 * self.table.progress()))


def process_claim_import(*, import_id: int) -> ClaimImport | None:
    """The worker's part (``cases.process_claim_import``): read, check and import the stored file.
    Idempotent: a finished import is left alone; two runs at once write once (the second finds it
    done under the lock). A file that cannot be read as a whole, or an unexpected error, marks the
    import failed with the reason (shown on its page; sending the file again retries it)."""
    import_id = int(import_id)
    claimed = ClaimImport.objects.filter(pk=import_id, status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).update(
        status=UploadStatus.PROCESSING, started_at=timezone.now(), progress=0)
    record = ClaimImport.objects.select_related("uploaded_by").filter(pk=import_id).first()
    if not claimed or record is None:
        return record
    try:
        with audit_context(channel=Channel.IMPORT, user=record.uploaded_by, claim_import=import_id):
            for attempt in (1, 2):
                try:
                    _process(record)
                    break
                except IntegrityError:  # another import recorded one of these settlement ids meanwhile
                    if attempt == 2:
                        raise
    except ValidationError as exc:
        _fail(import_id, " ".join(exc.messages))
    except Exception as exc:  # noqa: BLE001 - recorded on the import for the caseworker; the job ends
        log.exception("claim import %s failed", import_id)
        _fail(import_id, f"{type(exc).__name__}: {exc}")
    return ClaimImport.objects.filter(pk=import_id).first()


def _fail(import_id: int, message: str) -> None:
    ClaimImport.objects.filter(pk=import_id).exclude(status=UploadStatus.DONE).update(
        status=UploadStatus.FAILED, failure=message[:2000], finished_at=timezone.now())


def _process(record: ClaimImport) -> None:
    """Import the stored file of ``record`` as its uploader (see the module docstring)."""
    acting_user = record.uploaded_by
    with record.file.open("rb") as fileobj:
        try:
            table = tabular.open_table(fileobj, filename=record.filename, limits=LIMITS)
        except tabular.TableError as exc:
            raise _table_error(exc) from None
        ClaimImport.objects.filter(pk=record.pk).update(file_format=table.format, encoding=table.encoding)
        mapping = _required_columns(table.header)
        progress = _Progress(record.pk, table)
        report = _Report()
        parsed_rows: list[tuple[int, dict]] = []
        try:
            for number, raw, problems in table.dict_rows():
                progress()
                if problems:  # a NUL character, a quote never closed, a cell too long: reported, row left out
                    for column, message in problems:
                        report.add(number, mapping.get(column, column), "", message)
                    continue
                canonical = {mapping[h]: v for h, v in raw.items() if h in mapping}
                parsed_rows.append((number, _parse_row(number, canonical, report)))
        except tabular.TableError as exc:
            raise _table_error(exc) from None
        rows_read = table.rows_read
    _import_rows(record, acting_user, parsed_rows, report, rows_read)


def _import_rows(record: ClaimImport, acting_user, parsed_rows: list, report: _Report, rows_read: int) -> None:
    # Persons (in the user's regions) and existing claims, read in chunks.
    certnos = sorted({p["certno"] for _n, p in parsed_rows if len(p["certno"]) == 18})
    persons: dict[str, Person] = {}
    for chunk in _chunks(certnos):
        qs = scope_queryset(Person.objects.filter(id_number__in=chunk), acting_user, roles=CASEWORK_ROLES)
        persons.update({p.id_number: p for p in qs})
    setl_ids = sorted({p["values"]["setl_id"] for _n, p in parsed_rows if p["values"]["setl_id"]})
    existing: dict[str, Claim] = {}
    for chunk in _chunks(setl_ids):
        existing.update({c.setl_id: c for c in Claim.objects.filter(setl_id__in=chunk)})
    existing_ids = [c.pk for c in existing.values()]
    locked: dict[int, str] = {}
    for chunk in _chunks(existing_ids):
        for alloc in ClaimAllocation.objects.filter(claim_id__in=chunk).select_related("application"):
            locked[alloc.claim_id] = str(alloc.application)
        for link in (ApplicationClaim.objects.filter(claim_id__in=chunk, active=True)
                     .exclude(application__state__in=EDITABLE_STATES).select_related("application")):
            locked.setdefault(link.claim_id, str(link.application))

    seen: dict[str, int] = {}
    creates: list[Claim] = []
    updates: list[Claim] = []
    unchanged = 0
    touched: set[tuple[int, int]] = set()
    for number, parsed in parsed_rows:
        setl_id = parsed["values"]["setl_id"]
        if setl_id and setl_id in seen:
            report.add(number, "setl_id", setl_id, _("setl_id appears again in this file (first on row %(row)d)") % {"row": seen[setl_id]})
            continue
        if setl_id:
            seen[setl_id] = number
        person = persons.get(parsed["certno"])
        if person is None:
            if len(parsed["certno"]) == 18 and number not in report.bad_rows:
                report.add(number, "certno", identity_numbers.mask(parsed["certno"]),
                           _("no registered person with this identity number in your regions; register the person first"))
            continue
        cleaned = _finish_row(number, parsed, person, report)
        if cleaned is None:
            continue
        claim = existing.get(setl_id)
        if claim is None:
            creates.append(Claim(person=person, region_id=person.region_id, source=ClaimSource.IMPORT,
                                 created_by=acting_user, **cleaned))
            touched.add((person.pk, cleaned["date"].year))
            continue
        if claim.person_id != person.pk:
            report.add(number, "setl_id", setl_id, _("this settlement id is already recorded for another person"))
            continue
        changed = [f for f in COMPARED if getattr(claim, f) != cleaned[f]]
        if not changed:
            unchanged += 1
            continue
        if claim.pk in locked:
            report.add(number, "setl_id", setl_id, _(
                "imported before with different values (%(fields)s); case %(case)s holds it, so it was not changed"
            ) % {"fields": ", ".join(changed), "case": locked[claim.pk]})
            continue
        touched.add((person.pk, claim.date.year))
        for f in COMPARED:
            setattr(claim, f, cleaned[f])
        touched.add((person.pk, claim.date.year))  # the year may have changed
        updates.append(claim)

    with transaction.atomic():
        locked_record = ClaimImport.objects.select_for_update().filter(pk=record.pk).first()
        if locked_record is None or locked_record.status != UploadStatus.PROCESSING:
            return  # finished (or failed) by another run of the job meanwhile
        errors = sorted(report.errors, key=lambda e: (e["row"], e["column"]))
        ClaimImportError.objects.bulk_create(
            (ClaimImportError(claim_import_id=record.pk, row=e["row"], column=e["column"][:100],
                              label=str(e["label"])[:100], value=e["value"][:100], message=e["message"])
             for e in errors), batch_size=CHUNK)
        now = timezone.now()
        ClaimImport.objects.filter(pk=record.pk).update(
            rows_total=max(rows_read, len(parsed_rows)), rows_created=len(creates), rows_updated=len(updates),
            rows_unchanged=unchanged, rows_failed=len(report.bad_rows), errors_count=len(errors),
            status=UploadStatus.DONE, progress=100, finished_at=now)
        for claim in creates + updates:
            claim.claim_import_id = record.pk
            claim.updated_at = now
        Claim.objects.bulk_create(creates, batch_size=CHUNK)
        if updates:
            Claim.objects.bulk_update(updates, [*COMPARED, "claim_import", "updated_at"], batch_size=CHUNK)
        by_person: dict[int, set[int]] = defaultdict(set)
        for person_id, year in touched:
            by_person[person_id].add(year)
        settlement.person_years_changed(by_person, reason=_("claims imported"))
