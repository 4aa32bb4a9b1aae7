"""Parsing and checking typed-in or imported values, with messages that name the field.

Shared by the claim service, the claim import and the API so that a value is judged the same way
wherever it enters.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.numbers import CENT, MAX_MONEY, NotPlainNumber, ValueProblem, money, plain_decimal  # noqa: F401 (shared)

from ..models import ClaimKind, HospitalLevel, Location

TRUE_WORDS = {"1", "true", "yes", "y", "t", "是", "有", "符合", "√"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "否", "无", "不符合", "×", ""}


def date(value, *, required: bool = True, allow_future: bool = False) -> datetime.date | None:
    """A date: ``date``/``datetime`` objects, ``2024-03-10``, ``2024/3/10``, ``20240310`` or a
    timestamp ``2024-03-10 12:30:00``. Not in the future, not before 2000."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueProblem(_("is required"))
        return None
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = str(value).strip().replace("/", "-").replace(".", "-")
        text = text.replace("T", " ").split(" ")[0]
        day = None
        try:
            if len(text) == 8 and text.isdigit():
                day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            else:
                y, m, d = (int(p) for p in text.split("-"))
                day = datetime.date(y, m, d)
        except (ValueError, TypeError):
            raise ValueProblem(_("“%(value)s” is not a date (e.g. 2024-03-10)") % {"value": value}) from None
    if not allow_future and day > timezone.localdate():
        raise ValueProblem(_("is in the future (%(value)s)") % {"value": day.isoformat()})
    if day.year < 2000:
        raise ValueProblem(_("is before 2000 (%(value)s)") % {"value": day.isoformat()})
    return day


def boolean(value, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueProblem(_("“%(value)s” is not yes/no (use 1 or 0)") % {"value": value})


def choice(value, choices, *, default=None):
    text = "" if value is None else str(value).strip()
    if text == "" and default is not None:
        return default
    valid = {str(c) for c, _label in choices}
    if text not in valid:
        raise ValueProblem(
            _("“%(value)s” is not one of: %(choices)s") % {"value": text, "choices": ", ".join(sorted(valid))}
        )
    return text


CLAIM_FIELDS = (
    "date", "kind", "special_disease", "hospital_level", "location", "referral_compliant", "total",
    "policy_scope", "basic_paid", "critical_paid", "maf_pay", "hospital_name", "hospital_code", "setl_id",
)


def clean_claim(data: dict, *, labels: dict[str, str] | None = None) -> tuple[dict, dict[str, list[str]]]:
    """Check a claim's values. Returns ``(cleaned, errors)``; ``errors`` maps field → messages,
    each message starting with the field's label (``labels`` lets the import use the national
    column names). Keys missing from ``data`` take their defaults."""
    labels = labels or {}
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}

    def label(field: str) -> str:
        return labels.get(field, field)

    def run(field, fn):
        try:
            cleaned[field] = fn()
        except ValueProblem as problem:
            errors.setdefault(field, []).append(f"{label(field)}: {problem}")

    run("date", lambda: date(data.get("date")))
    run("kind", lambda: choice(data.get("kind"), ClaimKind.choices))
    run("special_disease", lambda: boolean(data.get("special_disease"), default=False))
    run("hospital_level", lambda: int(choice(data.get("hospital_level"), HospitalLevel.choices, default="1")))
    run("location", lambda: choice(data.get("location"), Location.choices, default=Location.COUNTY))
    run("referral_compliant", lambda: boolean(data.get("referral_compliant"), default=True))
    run("total", lambda: money(data.get("total")))
    run("policy_scope", lambda: money(data.get("policy_scope")))
    run("basic_paid", lambda: money(data.get("basic_paid"), required=False))
    run("critical_paid", lambda: money(data.get("critical_paid"), required=False))
    run("maf_pay", lambda: money(data.get("maf_pay"), required=False) or Decimal("0.00"))
    for field, limit in (("hospital_name", 100), ("hospital_code", 30), ("setl_id", 40)):
        text = str(data.get(field) or "").strip()
        if len(text) > limit:
            errors.setdefault(field, []).append(
                f"{label(field)}: " + _("is longer than %(n)d characters") % {"n": limit}
            )
        cleaned[field] = text
    cleaned["setl_id"] = cleaned.get("setl_id") or None

    total, scope = cleaned.get("total"), cleaned.get("policy_scope")
    basic, critical, maf = cleaned.get("basic_paid"), cleaned.get("critical_paid"), cleaned.get("maf_pay")
    if total is not None and scope is not None and scope > total:
        errors.setdefault("policy_scope", []).append(
            f"{label('policy_scope')}: " + _("%(scope)s exceeds %(total_label)s %(total)s")
            % {"scope": scope, "total": total, "total_label": label("total")}
        )
    if scope is not None and "basic_paid" not in errors and "critical_paid" not in errors:
        paid = (basic or 0) + (critical or 0)
        if paid > scope:
            field = "basic_paid" if basic is not None else "critical_paid"
            errors.setdefault(field, []).append(
                f"{label('basic_paid')} + {label('critical_paid')}: "
                + _("%(paid)s exceeds %(scope_label)s %(scope)s")
                % {"paid": Decimal(paid).quantize(CENT), "scope": scope, "scope_label": label("policy_scope")}
            )
    if total is not None and maf is not None and "maf_pay" not in errors:
        left = total - (basic or 0) - (critical or 0)
        if maf > left:
            errors.setdefault("maf_pay", []).append(
                f"{label('maf_pay')}: "
                + _("%(maf)s exceeds what the insurances left of the total (%(left)s)") % {"maf": maf, "left": left}
            )
    return cleaned, errors
