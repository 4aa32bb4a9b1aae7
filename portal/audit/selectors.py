"""Reads for the audit log: the history rows of every tracked model (old → new, who, channel), the
full-number view log and the bank-account changes, region-scoped for auditors.

Everything goes through :func:`portal.roles.scoping.scope_queryset` with the auditor role; the
history rows are scoped by the region of the row as it was recorded (or of its person, case or
batch).
"""
from __future__ import annotations

import datetime
import decimal
import json
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import identity_numbers
from portal.roles.domain import Role
from portal.roles.scoping import region_prefixes, scope_queryset

AUDIT_ROLES = {Role.AUDITOR}
PAGE_SIZE = 50
EXPORT_LIMIT = 20_000


@dataclass(frozen=True)
class Tracked:
    """A tracked model as the audit log reads it: the paths, on its history rows, to the region, the
    person and the case (None: the row has none)."""

    key: str
    model: str  # "app_label.Model"
    label: object
    region: str
    person: str | None
    case: str | None

    @property
    def tracked_model(self):
        return apps.get_model(self.model)

    @property
    def history_model(self):
        app_label, name = self.model.split(".")
        return apps.get_model(app_label, f"{name}History")


TRACKED = [
    Tracked("person", "cases.Person", gettext_lazy("person"), "region", "pgh_obj_id", None),
    Tracked("household", "cases.Household", gettext_lazy("household"), "region", None, None),
    Tracked("identity", "cases.Identity", gettext_lazy("identity"), "person__region", "person_id", None),
    Tracked("claim", "cases.Claim", gettext_lazy("claim"), "region", "person_id", None),
    Tracked("application", "cases.Application", gettext_lazy("case"), "region", "person_id", "pgh_obj_id"),
    Tracked("application_claim", "cases.ApplicationClaim", gettext_lazy("claim of a case"), "application__region",
            "application__person_id", "application_id"),
    Tracked("settlement", "cases.Settlement", gettext_lazy("settlement"), "application__region",
            "application__person_id", "application_id"),
    Tracked("adjustment", "cases.Adjustment", gettext_lazy("adjustment"), "application__region",
            "application__person_id", "application_id"),
    Tracked("payment_batch", "cases.PaymentBatch", gettext_lazy("payment batch"), "region", None, None),
    Tracked("payment_line", "cases.PaymentLine", gettext_lazy("payment line"), "batch__region",
            "application__person_id", "application_id"),
    Tracked("settlement_line", "cases.SettlementLine", gettext_lazy("settlement line"),
            "settlement__application__region", "settlement__application__person_id", "settlement__application_id"),
    Tracked("allocation", "cases.ClaimAllocation", gettext_lazy("allocation of a claim"), "application__region",
            "application__person_id", "application_id"),
    Tracked("payee_change", "cases.PayeeChange", gettext_lazy("payee change"), "application__region",
            "application__person_id", "application_id"),
    Tracked("recovery_entry", "cases.RecoveryEntry", gettext_lazy("recovery entry"), "adjustment__application__region",
            "adjustment__application__person_id", "adjustment__application_id"),
    Tracked("push", "exchange.IdentityPush", gettext_lazy("identity push"), "region", None, None),
    Tracked("push_row", "exchange.PushRejectedRow", gettext_lazy("rejected push row"), "push__region", None, None),
    Tracked("confirmation", "exchange.ConfirmationRequest", gettext_lazy("confirmation request"), "region",
            "person_id", "application_id"),
    Tracked("outbound", "exchange.OutboundDelivery", gettext_lazy("list handed to a department"), "region", None,
            None),
    Tracked("monitoring_run", "monitoring.MonitoringRun", gettext_lazy("monitoring run"), "region_code", None, None),
    Tracked("warning", "monitoring.MonitoringWarning", gettext_lazy("monitoring warning"), "region", "person_id", None),
    Tracked("subsidy_list", "enrolment.SubsidyList", gettext_lazy("subsidised-enrolment list"), "region", None, None),
    Tracked("subsidy_item", "enrolment.SubsidyListItem", gettext_lazy("entry of a subsidised-enrolment list"),
            "subsidy_list__region", "person_id", None),
    Tracked("subsidy", "enrolment.Subsidy", gettext_lazy("enrolment subsidy"), "region", "person_id", None),
    Tracked("enrolment_tier", "enrolment.EnrolmentTier", gettext_lazy("enrolment tier"), "person__region", "person_id",
            None),
    Tracked("contribution", "enrolment.ContributionStandard", gettext_lazy("personal contribution standard"), "region",
            None, None),
    Tracked("budget", "reporting.AssistanceBudget", gettext_lazy("assistance budget"), "region", None, None),
    Tracked("policy_version", "policies.PolicyVersion", gettext_lazy("policy version"), "region", None, None),
    Tracked("statistic", "policies.Statistic", gettext_lazy("statistic"), "region", None, None),
    Tracked("policy_text", "policies.PolicyText", gettext_lazy("policy document text"), "region", None, None),
]
BY_KEY = {t.key: t for t in TRACKED}

ACTIONS = [("insert", gettext_lazy("created")), ("update", gettext_lazy("changed")), ("delete", gettext_lazy("deleted"))]
CHANNELS = [("web", gettext_lazy("web page")), ("api", gettext_lazy("API")), ("push", gettext_lazy("department push")),
            ("import", gettext_lazy("file import")), ("worker", gettext_lazy("background worker"))]
#: Fields not shown as changes (kept in the history all the same).
QUIET_FIELDS = {"id", "updated_at", "id_mask_key", "calc_revision", "state_changed_at"}
#: Fields holding full identity numbers: masked wherever the audit log shows them.
ID_NUMBER_FIELDS = {"id_number", "old_id_number", "new_id_number", "approved_payee_id_number", "payee_id_number"}
BANK_ACCOUNT_FIELDS = {"bank_account", "payee_account", "old_bank_account", "new_bank_account", "old_account",
                       "new_account"}


def can_audit(user) -> bool:
    from portal.permissions import allowed

    return allowed(user, "audit.view_log")


@dataclass
class Filters:
    person: str = ""
    case: str = ""
    operator: str = ""
    action: str = ""
    kind: str = ""
    channel: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_query(cls, query) -> Filters:
        f = cls(
            person=(query.get("person") or "").strip()[:50],
            case=(query.get("case") or "").strip()[:40],
            operator=(query.get("operator") or "").strip()[:150],
            action=query.get("action") or "",
            kind=query.get("kind") or "",
            channel=query.get("channel") or "",
        )
        if f.action not in dict(ACTIONS):
            f.action = ""
        if f.kind not in BY_KEY:
            f.kind = ""
        if f.channel not in dict(CHANNELS):
            f.channel = ""
        for name in ("date_from", "date_to"):
            raw = (query.get(name) or "").strip()
            if raw:
                try:
                    setattr(f, name, datetime.date.fromisoformat(raw[:10]))
                except ValueError:
                    f.errors[name] = _("Enter a date as YYYY-MM-DD.")
        return f

    def as_query(self) -> dict:
        out = {k: getattr(self, k) for k in ("person", "case", "operator", "action", "kind", "channel") if getattr(self, k)}
        for name in ("date_from", "date_to"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        return out


def _persons(user, text: str) -> list[int]:
    """Persons of the auditor's regions matching ``text``: an id, a full or masked identity number,
    or part of a name."""
    from cases.models import Person, id_mask_key

    qs = scope_queryset(Person.objects.all(), user, roles=AUDIT_ROLES)
    number = identity_numbers.normalise(text)
    if text.isdigit() and len(text) <= 12:
        qs = qs.filter(pk=int(text))
    elif len(number) == 18 and "*" not in number:
        qs = qs.filter(id_number=number)
    elif "*" in text and len(text) == 18:
        qs = qs.filter(id_mask_key=id_mask_key(text))
    else:
        qs = qs.filter(name__icontains=text)
    return list(qs.values_list("pk", flat=True)[:500])


def _cases(user, text: str) -> list[int]:
    from cases.models import Application

    qs = scope_queryset(Application.objects.all(), user, roles=AUDIT_ROLES)
    if text.isdigit() and len(text) <= 12:
        qs = qs.filter(Q(pk=int(text)) | Q(number=text))
    else:
        qs = qs.filter(number__icontains=text)
    return list(qs.values_list("pk", flat=True)[:500])


def _operators(text: str) -> list[int]:
    users = get_user_model().objects.filter(Q(username__iexact=text) | Q(full_name__icontains=text))
    return list(users.values_list("pk", flat=True)[:200])


def _day_bounds(f: Filters) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    tz = timezone.get_current_timezone()
    lo = datetime.datetime.combine(f.date_from, datetime.time.min, tz) if f.date_from else None
    hi = datetime.datetime.combine(f.date_to + datetime.timedelta(days=1), datetime.time.min, tz) if f.date_to else None
    return lo, hi


def _history_queryset(user, spec: Tracked, f: Filters, persons, cases, operators):
    qs = scope_queryset(spec.history_model.objects.all(), user, roles=AUDIT_ROLES, field=spec.region)
    if persons is not None:
        if spec.person is None:
            return None
        qs = qs.filter(**{f"{spec.person}__in": persons})
    if cases is not None:
        if spec.key == "claim":
            from cases.models import ApplicationClaim

            qs = qs.filter(pgh_obj_id__in=ApplicationClaim.objects.filter(application_id__in=cases).values("claim_id"))
        elif spec.case is None:
            return None
        else:
            qs = qs.filter(**{f"{spec.case}__in": cases})
    if operators is not None:
        qs = qs.filter(pgh_context__metadata__user__in=operators)
    if f.channel:
        qs = qs.filter(pgh_context__metadata__channel=f.channel)
    if f.action:
        qs = qs.filter(pgh_label=f.action)
    lo, hi = _day_bounds(f)
    if lo:
        qs = qs.filter(pgh_created_at__gte=lo)
    if hi:
        qs = qs.filter(pgh_created_at__lt=hi)
    return qs.annotate(
        audit_kind=Value(spec.key, output_field=models.CharField()),
        audit_at=F("pgh_created_at"),
        audit_row=F("pgh_id"),
    ).values("audit_kind", "audit_row", "audit_at").order_by()


def history_rows(user, f: Filters, *, offset: int = 0, limit: int = PAGE_SIZE) -> list[dict]:
    """One page of history rows (newest first): ``[{"audit_kind", "audit_row", "audit_at"}]``."""
    persons = _persons(user, f.person) if f.person else None
    cases = _cases(user, f.case) if f.case else None
    operators = _operators(f.operator) if f.operator else None
    parts = []
    for spec in TRACKED:
        if f.kind and spec.key != f.kind:
            continue
        qs = _history_queryset(user, spec, f, persons, cases, operators)
        if qs is not None:
            parts.append(qs)
    if not parts:
        return []
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return list(union.order_by("-audit_at", "-audit_row")[offset:offset + limit])


# --- One history row explained ------------------------------------------------------------------------


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class Entry:
    kind: str
    kind_label: str
    action: str
    action_label: str
    at: datetime.datetime
    user_id: int | None
    operator: str
    channel: str
    channel_label: str
    obj_id: int
    obj_label: str
    person_id: int | None
    case_id: int | None
    changes: list[Change]


#: Fields holding a hash, a key or a token hint: shown as a short upper-case reference.
REFERENCE_FIELDS = {"content_hash", "input_hash", "result_hash", "settlement_hash", "basis_hash", "request_key",
                    "api_token_hint"}
#: Fields holding an identity category's code.
CATEGORY_FIELDS = {"category", "pending_category"}
#: Fields holding where a change came from (``push:12``, ``confirmation:3``, ``entry:5``, ``web``).
SOURCE_FIELDS = {("identity", "source"), ("settlement", "reason"), ("adjustment", "reason"), ("statistic", "source")}
#: Fields holding a region's code as text.
REGION_CODE_FIELDS = {"region_code"}
_SOURCE = re.compile(r"^(push|confirmation|entry|policy|import|recalc|web|api|demo):?(\S*)$")


def source_words(raw: str) -> str:
    """Where a change came from, in words: an identity push, a department's confirmation, an entry
    confirmed by a second reviewer, a policy version, an import, the web page."""
    match = _SOURCE.match(raw.strip())
    if not match:
        return raw
    kind, ref = match.groups()
    words = {
        "push": _("identity push #%(ref)s"),
        "confirmation": _("confirmation request #%(ref)s"),
        "entry": _("identity entry #%(ref)s (confirmed by a second reviewer)"),
        "policy": _("policy version %(ref)s"),
        "import": _("file import %(ref)s"),
        "recalc": _("recalculation %(ref)s"),
        "web": _("entered on the web page"),
        "api": _("entered through the API"),
        "demo": _("demo data"),
    }[kind]
    return words % {"ref": ref or "—"} if "%(ref)s" in words else words


def _json_words(spec: Tracked, name: str, value) -> str:
    """A JSON value in words: the problems of a rejected row, a refused calculation or a run as the
    pages word them; a list of sentences as it is; anything else summarised (shown in full on the
    object's own page)."""
    if isinstance(value, str):  # stored as text (an older row)
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if value in (None, "", [], {}):
        return "—"
    try:
        if spec.key == "push_row" and name == "errors":
            from cases.exchange.pushes import rules

            return "；".join(f"{rules.FIELD_LABELS.get(e.get('field'), _('row'))}：{rules.message(e)}"
                            for e in value)
        if spec.key == "settlement" and name == "errors":
            from policies.messages import render

            return "；".join(render(p) for p in value)
        if spec.key == "monitoring_run" and name == "problems":
            from cases.monitoring.services import run_problem_text

            return "；".join(run_problem_text(p) for p in value)
        if spec.key == "subsidy_list" and name == "problems":
            return "；".join(str(p.get("message", "")) if isinstance(p, dict) else str(p) for p in value)
        if spec.key == "settlement" and name == "policies":
            return "、".join(str(p.get("document") or p.get("title") or "") if isinstance(p, dict) else str(p)
                            for p in value)
    except Exception:  # noqa: BLE001 - a value of an older shape: summarised below
        pass
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "；".join(value)
    if spec.key == "policy_version" and name == "document":
        return _("the policy file's content (see the policy version's page)")
    n = len(value) if isinstance(value, (list, dict)) else 1
    return _("structured content, %(n)s items (see the object's page)") % {"n": n}


def _figure(kind: str) -> str:
    from policies.display import figure_name
    from policies.models import StatisticKind

    return str(StatisticKind(kind).label) if kind in StatisticKind.values else figure_name(kind)


class _Labels:
    """Words for what a history row refers to by id (a region, a department, a user, a person, a
    case…), looked up once per page."""

    def __init__(self):
        self.cache: dict[tuple, str] = {}

    def route(self, row) -> str:
        """A settlement line's route as its policy document names it (the code when none does)."""
        from cases.models import Settlement
        from policies.selectors import route_labels

        region = self.cache.get(("settlement-region", row.settlement_id))
        if region is None:
            region = self.cache[("settlement-region", row.settlement_id)] = (
                Settlement.objects.filter(pk=row.settlement_id).values_list("application__region_id", flat=True).first()
                or "")
        key = ("routes", region)
        if key not in self.cache:
            try:
                self.cache[key] = route_labels(region_code=region) if region else {}
            except Exception:  # noqa: BLE001 - a label is a nicety: the category's name is shown instead
                self.cache[key] = {}
        label = self.cache[key].get((row.policy, row.route, row.category))
        if label:
            return str(label)
        from cases.models import Claim
        from policies import categories

        kinds = dict(Claim._meta.get_field("kind").flatchoices)
        return str(kinds[row.route]) if row.route in kinds else categories.label(row.route)

    def __call__(self, model, pk) -> str:
        key = (model._meta.label, pk)
        if key not in self.cache:
            self.cache[key] = self._label(model, pk)
        return self.cache[key]

    @staticmethod
    def _label(model, pk) -> str:
        label = model._meta.label
        spec = next((t for t in TRACKED if t.model == label), None)
        what = spec.label if spec is not None else _(str(model._meta.verbose_name))
        obj = model._default_manager.filter(pk=pk).first()
        if obj is None:
            return _("%(what)s #%(id)s (no longer on record)") % {"what": what, "id": pk}
        if label in ("regions.Region", "roles.Department"):
            return obj.name
        if model is get_user_model():
            return obj.display_name
        if label == "cases.Person":
            return f"{obj.name}（{identity_numbers.mask(obj.id_number)}）"
        if label in ("cases.Application", "cases.PaymentBatch", "cases.Household") and getattr(obj, "number", ""):
            return obj.number
        if label == "cases.Claim":
            text = f"{obj.date} {obj.hospital_name or ''} {obj.total:,.2f}".replace("  ", " ")
            return f"{text}（{obj.setl_id}）" if obj.setl_id else text
        if label == "exchange.IdentityPush":
            return f"{_('identity push #%(ref)s') % {'ref': obj.pk}} {obj.original_name}".strip()
        if label == "policies.PolicyVersion":
            return f"{obj.document_number} {obj.title}".strip()
        return f"{what} #{pk}"


def _display(spec: Tracked, field_name: str, value, *, for_export: bool, labels: _Labels | None = None,
             row=None) -> str:
    """A stored value as an auditor reads it: choices by their labels, ids by what they name (a
    region, a department, a person, a case…), categories and sources in words, money as 24,675.00."""
    if value is None or value == "":
        return "—"
    model_field = spec.tracked_model._meta.get_field(field_name) if _has_field(spec, field_name) else None
    if field_name in ID_NUMBER_FIELDS or field_name.endswith("id_number"):
        return identity_numbers.mask(str(value))
    if field_name in BANK_ACCOUNT_FIELDS and for_export:
        text = str(value)
        return "*" * max(len(text) - 4, 0) + text[-4:]
    if spec.key == "statistic" and field_name == "kind":
        return _figure(str(value))
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field is not None and model_field.is_relation and model_field.many_to_one:
        return (labels or _Labels())(model_field.related_model, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(model_field, models.JSONField) or isinstance(value, (list, dict)):
        return _json_words(spec, field_name, value)
    if isinstance(model_field, models.FileField):
        return str(value).rsplit("/", 1)[-1]
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal) or isinstance(model_field, models.DecimalField):
        amount = decimal.Decimal(str(value))
        places = getattr(model_field, "decimal_places", 2) or 0
        return f"{amount:,.{places}f}"
    text = str(value)
    if field_name in CATEGORY_FIELDS:
        from policies import categories

        return categories.label(text)
    if (spec.key, field_name) in SOURCE_FIELDS:
        return source_words(text)
    if spec.key == "warning" and field_name == "claim_ref" and re.fullmatch(r"c\d+", text):
        from cases.models import Claim

        return (labels or _Labels())(Claim, int(text[1:]))  # the engine's claim id: c<claim id>
    if spec.key == "settlement_line" and field_name == "route" and row is not None:
        return (labels or _Labels()).route(row)
    if field_name in REFERENCE_FIELDS:
        return text.upper()[:12] + ("…" if len(text) > 12 else "")
    if field_name in REGION_CODE_FIELDS:
        from portal.regions.names import region_name

        return region_name(text)
    if field_name == "engine":
        return str({"postgres": _("processed in the database, set-based"),
                    "generic": _("processed row by row")}.get(text, text))
    if field_name in ("file_format", "encoding"):
        return text.upper()
    if spec.key == "monitoring_run" and field_name == "trigger":
        return str({"beat": _("the monthly schedule"), "api": _("a department system (API)"),
                    "manual": _("a user"), "command": _("a server command")}.get(text, text))
    return text if len(text) <= 300 else text[:300] + "…"


def _has_field(spec: Tracked, name: str) -> bool:
    try:
        spec.tracked_model._meta.get_field(name)
        return True
    except Exception:  # noqa: BLE001 - a field of the history only
        return False


def _fields(spec: Tracked) -> list[tuple[str, str, str]]:
    """(attname on the history row, field name, label) of the tracked fields."""
    out = []
    tracked = {f.name for f in spec.tracked_model._meta.concrete_fields}
    for f in spec.history_model._meta.concrete_fields:
        if f.name.startswith("pgh_") or f.name not in tracked or f.name in QUIET_FIELDS:
            continue
        # a field named without gettext_lazy (Django's own "state changed by") is translated here
        label = _(str(spec.tracked_model._meta.get_field(f.name).verbose_name))
        out.append((f.attname, f.name, label))
    return out


def _object_label(spec: Tracked, row, labels: _Labels) -> str:
    if spec.key == "person":
        return f"{row.name}（{identity_numbers.mask(row.id_number)}）"
    if spec.key == "application":
        from cases.models import Application

        return row.number or labels(Application, row.pgh_obj_id)
    if spec.key == "claim":
        label = f"{row.date} {row.hospital_name or ''} {row.total:,.2f}".replace("  ", " ")
        return f"{label}（{row.setl_id}）" if row.setl_id else label
    if spec.key == "payment_batch":
        from cases.models import PaymentBatch

        return row.number or labels(PaymentBatch, row.pgh_obj_id)
    from portal.regions.models import Region

    if spec.key == "policy_version":
        return f"{labels(Region, row.region_id)} {row.document_number} {row.title}".strip()
    if spec.key == "policy_text":
        return f"{labels(Region, row.region_id)} {row.document_number}"
    if spec.key == "statistic":
        return f"{labels(Region, row.region_id)} {_figure(row.kind)} {row.year}"
    if spec.key == "push":
        return f"{_('identity push #%(ref)s') % {'ref': row.pgh_obj_id}} {row.original_name}".strip()
    region = getattr(row, "region_id", None)
    where = f"{labels(Region, region)} " if region and spec.region == "region" else ""
    return f"{where}{spec.label} #{row.pgh_obj_id}"


def _value(row, attname):
    return getattr(row, attname)


def explain(rows: list[dict], *, for_export: bool = False) -> list[Entry]:
    """The page's rows with their changes (old → new: the previous history row of the same object),
    operator and channel."""
    by_kind: dict[str, list[int]] = {}
    for r in rows:
        by_kind.setdefault(r["audit_kind"], []).append(r["audit_row"])
    loaded = {}
    for kind, ids in by_kind.items():
        spec = BY_KEY[kind]
        for obj in spec.history_model.objects.filter(pgh_id__in=ids).select_related("pgh_context"):
            loaded[(kind, obj.pgh_id)] = obj
    user_ids = {(o.pgh_context.metadata or {}).get("user") for o in loaded.values() if o.pgh_context_id}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=[u for u in user_ids if isinstance(u, int)])}
    entries = []
    labels = _Labels()
    for r in rows:
        spec = BY_KEY[r["audit_kind"]]
        obj = loaded.get((r["audit_kind"], r["audit_row"]))
        if obj is None:
            continue
        meta = (obj.pgh_context.metadata if obj.pgh_context_id else {}) or {}
        uid = meta.get("user") if isinstance(meta.get("user"), int) else None
        user = users.get(uid)
        channel = meta.get("channel") or ""
        previous = None
        if obj.pgh_label != "insert":
            previous = (spec.history_model.objects.filter(pgh_obj_id=obj.pgh_obj_id, pgh_id__lt=obj.pgh_id)
                        .order_by("-pgh_id").first())
        changes = []
        for attname, name, label in _fields(spec):
            new = _value(obj, attname)
            if obj.pgh_label == "delete":
                changes.append(Change(name, label, _display(spec, name, new, for_export=for_export, labels=labels, row=obj), "—"))
                continue
            if previous is None:
                shown = _display(spec, name, new, for_export=for_export, labels=labels, row=obj)
                if obj.pgh_label == "insert" and shown != "—":
                    changes.append(Change(name, label, "—", shown))
                continue
            old = _value(previous, attname)
            if old != new:
                changes.append(Change(name, label, _display(spec, name, old, for_export=for_export, labels=labels, row=previous),
                                      _display(spec, name, new, for_export=for_export, labels=labels, row=obj)))
        person_id = None
        if spec.key == "person":
            person_id = obj.pgh_obj_id
        elif hasattr(obj, "person_id"):
            person_id = obj.person_id
        case_id = obj.pgh_obj_id if spec.key == "application" else getattr(obj, "application_id", None)
        entries.append(Entry(
            kind=spec.key, kind_label=str(spec.label), action=obj.pgh_label,
            action_label=str(dict(ACTIONS).get(obj.pgh_label, obj.pgh_label)), at=obj.pgh_created_at, user_id=uid,
            operator=user.display_name if user else (_("the system") if obj.pgh_context_id else _("not recorded")),
            channel=channel, channel_label=str(dict(CHANNELS).get(channel, channel or "—")), obj_id=obj.pgh_obj_id,
            obj_label=_object_label(spec, obj, labels), person_id=person_id, case_id=case_id, changes=changes,
        ))
    return entries


# --- The full-number view log and the bank-account changes --------------------------------------------


def _log_rows(model, user, f: Filters, *, operator: str, at: str, related: tuple[str, ...],
              also_region: str | None = None):
    """A log's rows in the auditor's regions, filtered by person, operator and day (newest first).
    ``also_region``: a second path to a region, for rows without a person (a push's rejected rows)."""
    base = model.objects.select_related(*related)
    qs = scope_queryset(base, user, roles=AUDIT_ROLES, field="person__region")
    if also_region:
        qs = qs | scope_queryset(base.filter(person__isnull=True), user, roles=AUDIT_ROLES, field=also_region)
    if f.person:
        qs = qs.filter(person_id__in=_persons(user, f.person))
    if f.operator:
        qs = qs.filter(**{f"{operator}__in": _operators(f.operator)})
    lo, hi = _day_bounds(f)
    if lo:
        qs = qs.filter(**{f"{at}__gte": lo})
    if hi:
        qs = qs.filter(**{f"{at}__lt": hi})
    return qs.order_by(f"-{at}", "-id")


def id_number_views(user, f: Filters):
    from cases.models import IdNumberView

    return _log_rows(IdNumberView, user, f, operator="user_id", at="viewed_at", related=("user", "person", "push"),
                     also_region="push__region")


def bank_account_changes(user, f: Filters):
    from cases.models import BankAccountChange

    return _log_rows(BankAccountChange, user, f, operator="changed_by_id", at="changed_at",
                     related=("changed_by", "person"))


# --- The policy simulations run ---------------------------------------------------------------------


def policy_simulations(user, f: Filters):
    """Every fund-impact simulation of a draft run in the auditor's regions (who, which version and
    year, when, how it ended), filtered by operator and day, newest first. Recorded on every
    database (the simulation rows themselves), not only where the history is."""
    from policies.models import PolicySimulation

    qs = scope_queryset(PolicySimulation.objects.select_related("version", "created_by", "region"), user,
                        roles=AUDIT_ROLES)
    if f.operator:
        qs = qs.filter(created_by_id__in=_operators(f.operator))
    lo, hi = _day_bounds(f)
    if lo:
        qs = qs.filter(created_at__gte=lo)
    if hi:
        qs = qs.filter(created_at__lt=hi)
    return qs.order_by("-created_at", "-id")

# --- Recorded list exports (portal.models.ListExport) ---------------------------------------------------

#: The lists whose Excel exports are recorded (``portal.lists.export``'s ``list_name``).
LIST_NAMES = {
    "cases": gettext_lazy("case list"),
    "persons": gettext_lazy("person list"),
    "pushes": gettext_lazy("identity push list"),
    "warnings": gettext_lazy("monitoring warning list"),
    "payment_lines": gettext_lazy("payment line list"),
}


def list_exports(user, f: Filters):
    """The recorded Excel exports of list pages, newest first: those made by users holding a role in
    the auditor's regions (an export has no region of its own: it holds what its user's regions
    showed), filtered by operator and day."""
    from portal.models import ListExport
    from portal.roles.models import RoleAssignment

    qs = ListExport.objects.select_related("user")
    if region_prefixes(user, roles=AUDIT_ROLES) is not None:
        exporters = scope_queryset(RoleAssignment.objects.all(), user, roles=AUDIT_ROLES).values("user_id")
        qs = qs.filter(user_id__in=exporters)
    if f.operator:
        qs = qs.filter(user_id__in=_operators(f.operator))
    lo, hi = _day_bounds(f)
    if lo:
        qs = qs.filter(exported_at__gte=lo)
    if hi:
        qs = qs.filter(exported_at__lt=hi)
    return qs.order_by("-exported_at", "-id")


def list_label(name: str) -> str:
    """The list's name as the menu says it; a case queue's export names its queue too."""
    if name.startswith("cases_"):
        from cases.selectors import QUEUES

        queue = QUEUES.get(name[len("cases_"):])
        if queue is not None:
            return f"{LIST_NAMES['cases']}（{queue[0]}）"
    return str(LIST_NAMES.get(name, name))


def _exported_list(name: str):
    """(FilterSet class, sortable columns) of a recorded list, to put its filter in words; None for
    a list not known (any more)."""
    if name == "cases" or name.startswith("cases_"):
        from cases.filters import CaseFilter
        from cases.views.queues import CASE_COLUMNS

        return CaseFilter, CASE_COLUMNS
    if name == "persons":
        from cases.filters import PersonFilter
        from cases.views.persons import PERSON_SORTING

        return PersonFilter, list(PERSON_SORTING.columns.values())
    if name == "payment_lines":
        from cases.filters import PaymentLineFilter
        from cases.views.payments import LINE_SORTING

        return PaymentLineFilter, list(LINE_SORTING.columns.values())
    if name == "pushes":
        from cases.exchange.filters import PushFilter
        from cases.exchange.views import PUSH_SORTING

        return PushFilter, list(PUSH_SORTING.columns.values())
    if name == "warnings":
        from cases.monitoring.filters import WarningFilter
        from cases.monitoring.views import WARNING_SORTING

        return WarningFilter, list(WARNING_SORTING.columns.values())
    return None


def _filter_value(name: str, flt, value: str) -> str:
    """One recorded filter value in words: a choice by its label, a region by its name, a person by
    name and masked number; text as typed (full numbers were masked when recorded)."""
    from cases.filters import RegionFilter

    if flt is None:
        return value
    choices = flt.extra.get("choices")
    if choices:
        labels = {str(k): str(v) for k, v in choices}
        return "、".join(labels.get(part, part) for part in value.split(","))
    if isinstance(flt, RegionFilter):
        from portal.regions.names import region_name

        return region_name(value)
    if name == "person" and value.isdigit():
        from cases.models import Person

        person = Person.objects.filter(pk=int(value)).only("name", "id_number").first()
        return f"{person.name}（{person.masked_id_number}）" if person is not None else value
    return value


def describe_export_filters(filters: dict, list_name: str = "") -> str:
    """An export's filter as one line in words, with the list's own filter labels (``人员姓名或身份证号：
    欧阳；排序：姓名（降序）``); its values were masked when recorded."""
    if not filters:
        return _("no filter (the whole list)")
    known = _exported_list(list_name)
    filterset, columns = known if known is not None else (None, [])
    by_key = {c.key: c for c in columns}
    parts = []
    for name, raw in filters.items():
        value = str(raw)
        if name == "sort":
            column = by_key.get(value.lstrip("-"))
            order = _("descending") if value.startswith("-") else _("ascending")
            shown = f"{column.label}（{order}）" if column is not None else value
            parts.append(f"{_('sorted by')}：{shown}")
        elif name == "queue":
            from cases.selectors import QUEUES

            queue = QUEUES.get(value)
            parts.append(f"{_('queue')}：{queue[0] if queue is not None else value}")
        else:
            flt = filterset.base_filters.get(name) if filterset is not None else None
            label = str(flt.label) if flt is not None and flt.label else _("other filter")
            parts.append(f"{label}：{_filter_value(name, flt, value)}")
    return "；".join(parts)
