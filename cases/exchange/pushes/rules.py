"""What a pushed row must satisfy, and how each problem reads.

Both processing paths (generic Python, and set-based SQL on PostgreSQL) produce the same problems:
``{"field": ..., "code": ..., "params": {...}}``. The message is rendered when shown (in the reader's
language) from the code and its parameters, so a stored problem never goes stale.

Identity numbers are checked exactly as ``cases.identity_numbers.validate`` does (same order, same
messages); the generic path calls ``validate`` itself as well.
"""
from __future__ import annotations

import calendar
import datetime
import re
import unicodedata

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.identity_numbers import PROVINCE_PREFIXES, normalise
from policies import categories
from portal.roles.domain import DepartmentCode

# The columns of a push, in the order they are reported. Keys are the staged column names.
FIELDS = ("id_number", "name", "category", "action", "effective", "reference", "region", "residence", "scheme")
REQUIRED_FIELDS = ("id_number", "name", "category", "action", "effective", "reference")
# Optional columns that describe a person the push registers (户籍性质 and 参保类型): when a file does
# not give them, the new person's residence / scheme is left to be verified (待核实), never assumed.
PERSON_FIELDS = ("residence", "scheme")

FIELD_LABELS = {
    "id_number": gettext_lazy("identity number"),
    "name": gettext_lazy("name"),
    "category": gettext_lazy("category"),
    "action": gettext_lazy("action"),
    "effective": gettext_lazy("effective date"),
    "reference": gettext_lazy("document reference"),
    "region": gettext_lazy("region code"),
    "residence": gettext_lazy("residence"),
    "scheme": gettext_lazy("insurance scheme"),
    "row": gettext_lazy("row"),
}

# Header names a department's file may use for each column (compared after removing spaces,
# case-insensitively). The first name of each list is what our own templates and exports use.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号码", "身份证号", "公民身份号码", "证件号码", "身份证", "id_number", "identity_number",
                  "id_no", "idnumber", "certno"),
    "name": ("姓名", "name", "psn_name"),
    "category": ("类别", "身份类别", "人员类别", "救助对象类别", "category"),
    "action": ("操作", "变动类型", "增减", "变动", "action"),
    "effective": ("生效日期", "日期", "变动日期", "effective_date", "effective", "date"),
    "reference": ("文号", "文件文号", "认定文号", "reference", "document_reference", "document"),
    "region": ("行政区划", "行政区划代码", "区划代码", "region", "region_code"),
    "residence": ("户籍性质", "城乡", "户口性质", "城乡属性", "户籍类型", "residence"),
    "scheme": ("参保类型", "险种类型", "参保险种", "医保类型", "insutype", "scheme"),
}
TEMPLATE_HEADERS = [HEADER_ALIASES[f][0] for f in FIELDS]
# The columns a rejected row keeps (its report and download): the identity's, without the person's.
REPORT_HEADERS = [HEADER_ALIASES[f][0] for f in FIELDS if f not in PERSON_FIELDS]


def header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "")
    return re.sub(r"\s+", "", text).lower()


HEADER_LOOKUP = {header_key(alias): field for field, aliases in HEADER_ALIASES.items() for alias in aliases}

# Category: the code, the Chinese name, or the names departments use — of the national list here;
# a push's own lookup (``PushContext.categories``) adds the categories its region's policies define
# (``policies.categories``).
NATIONAL_CATEGORIES = categories.NATIONAL
CATEGORY_LOOKUP: dict[str, str] = categories.push_lookup(list(categories.NATIONAL))
NATIONAL_OWNERS: dict[str, str] = {c.code: c.department for c in categories.NATIONAL}

# 户籍性质: the code or a Chinese name. 参保类型: the code, a Chinese name or the national 险种类型 code
# (310 职工基本医疗保险, 390 城乡居民基本医疗保险, as in the national settlement import).
RESIDENCE_LOOKUP: dict[str, str] = {
    "rural": "rural", "农村": "rural", "乡村": "rural", "农业": "rural", "农业户口": "rural", "农村户籍": "rural",
    "urban": "urban", "城镇": "urban", "城市": "urban", "非农业": "urban", "非农业户口": "urban",
    "城镇户籍": "urban",
}
SCHEME_LOOKUP: dict[str, str] = {
    "resident": "resident", "390": "resident", "城乡居民": "resident", "居民医保": "resident",
    "城乡居民医保": "resident", "城乡居民医疗保险": "resident", "城乡居民基本医疗保险": "resident",
    "employee": "employee", "310": "employee", "职工": "employee", "职工医保": "employee",
    "职工基本医疗保险": "employee", "城镇职工基本医疗保险": "employee", "城镇职工医保": "employee",
}

ACTION_LOOKUP: dict[str, str] = {
    "新增": "add", "增加": "add", "纳入": "add", "add": "add", "added": "add", "+": "add",
    "退出": "exit", "减少": "exit", "exit": "exit", "exited": "exit", "-": "exit",
}

NAME_MAX = 50
REFERENCE_MAX = 100
TRIM_CHARS = " \t\r\n\u3000"
ID_CHARS = re.compile(r"[0-9]{17}[0-9X]")
CHECK_TABLE = "10X98765432"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
DATE_SEPARATED = re.compile(
    r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
)
DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
# The same patterns for PostgreSQL's regular expressions (anchored).
SQL_DATE_SEPARATED = "^" + DATE_SEPARATED.pattern + "$"
SQL_DATE_COMPACT = "^" + DATE_COMPACT.pattern + "$"


def clean(value) -> str:
    return str(value if value is not None else "").strip(TRIM_CHARS)


def folded(value) -> str:
    """Compatibility-normalised (full-width digits and letters become ASCII), trimmed."""
    return unicodedata.normalize("NFKC", clean(value)).strip(TRIM_CHARS)


def normalise_id(value) -> str:
    """The portal's one spelling of a number (``cases.identity_numbers.normalise``)."""
    return normalise(value)


def err(field: str, code: str, **params) -> dict:
    return {"field": field, "code": code, "params": params}


def expected_check(number: str) -> str:
    return CHECK_TABLE[sum(int(d) * w for d, w in zip(number[:17], WEIGHTS)) % 11]


def id_problem(number: str, today: datetime.date) -> dict | None:
    """The identity-number problem of a normalised number (None: valid), in validate()'s order."""
    if not number:
        return err("id_number", "id_required")
    if len(number) != 18:
        return err("id_number", "id_length", n=len(number))
    if not ID_CHARS.fullmatch(number):
        return err("id_number", "id_format")
    y, m, d = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1 <= y and 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]):
        return err("id_number", "id_birth_date", d=number[6:14])
    if datetime.date(y, m, d) > today:
        return err("id_number", "id_birth_future", d=number[6:14])
    want = expected_check(number)
    if number[17] != want:
        return err("id_number", "id_check", got=number[17], want=want)
    if number[:2] not in PROVINCE_PREFIXES:
        return err("id_number", "id_province", area=number[:2])
    return None


def birth_date(number: str) -> datetime.date:
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def parse_date(text: str) -> datetime.date | None:
    """A date in one of the accepted spellings; None when it is not one."""
    m = DATE_SEPARATED.fullmatch(text) or DATE_COMPACT.fullmatch(text)
    if m is None:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= y and 1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]):
        return None
    return datetime.date(y, mo, d)


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def _department_name(code: str) -> str:
    try:
        return str(DepartmentCode(code).label)
    except ValueError:
        return code


def _category_name(code: str) -> str:
    return categories.label(code)


def message(problem: dict) -> str:
    """The problem as a sentence in the active language."""
    code = problem["code"]
    p = dict(problem.get("params") or {})
    if "category" in p:
        p["category_name"] = _category_name(p["category"])
    for key in ("owner", "department"):
        if key in p:
            p[key + "_name"] = _department_name(p[key])
    texts = {
        # The identity-number messages are those of cases.identity_numbers.validate.
        "id_required": _("Identity number is required."),
        "id_length": _("Identity number must have 18 characters, this one has %(n)d."),
        "id_format": _("Identity number must be 17 digits followed by a digit or X."),
        "id_birth_date": _("Identity number contains an impossible birth date (%(d)s)."),
        "id_birth_future": _("Identity number has a birth date in the future (%(d)s)."),
        "id_check": _(
            "Identity number check character is wrong: it ends in %(got)s, the first 17 digits need %(want)s."
        ),
        "id_province": _("Identity number starts with %(area)s, which is not a province code."),
        "id_numeric": _(
            "The identity number was stored as a number in Excel and has lost its last digits; format the "
            "column as text and send the row again."
        ),
        "name_required": _("Name is required."),
        "name_too_long": _("Name is longer than %(max)d characters."),
        "name_mismatch": _(
            "Name %(name)s does not match the person registered with this identity number (%(registered)s)."
        ),
        "category_required": _("Category is required."),
        "category_unknown": _(
            "Column 类别 (category): %(value)s is not an identity category of this region's policy; use the "
            "code, the Chinese name or a name the policy lists for the category."
        ),
        "category_not_owned": _(
            "%(category_name)s is recognised by the %(owner_name)s, not by the %(department_name)s; "
            "only the owning department may push it."
        ),
        "action_required": _("Action is required (新增 or 退出)."),
        "action_unknown": _("Action %(value)s is neither 新增 (add) nor 退出 (exit)."),
        "date_required": _("Effective date is required."),
        "date_invalid": _("Effective date %(value)s is not a date (write it as YYYY-MM-DD)."),
        "date_future": _("Effective date %(date)s is in the future."),
        "date_before_birth": _("Effective date %(date)s is before the person's birth date (%(birth)s)."),
        "reference_required": _("Document reference (文号) is required."),
        "reference_too_long": _("Document reference is longer than %(max)d characters."),
        "region_invalid": _("Region code %(value)s is not a 6-digit code."),
        "region_unknown": _("Region code %(value)s is not a region of this portal."),
        "region_out_of_scope": _("Region %(value)s is outside the regions you push for."),
        "residence_unknown": _(
            "Column 户籍性质 (residence): %(value)s is neither 农村 (rural) nor 城镇 (urban); leave the cell empty "
            "when the department does not know it."
        ),
        "scheme_unknown": _(
            "Column 参保类型 (insurance scheme): %(value)s is neither 城乡居民医保 (resident, 390) nor 职工医保 "
            "(employee, 310); leave the cell empty when the department does not know it."
        ),
        "region_needed": _("The person is not registered yet: give the region code (行政区划) to register them."),
        "person_out_of_scope": _("The person is registered in region %(region)s, outside the regions you push for."),
        "person_unknown": _("No person is registered with this identity number, so there is nothing to exit."),
        "duplicate": _("Repeats row %(row)s (same identity number and category); only the first row is applied."),
        "no_open_identity": _("There is no open %(category_name)s identity to close."),
        "no_open_identity_ended": _(
            "There is no open %(category_name)s identity to close; the last one ended on %(end)s."
        ),
        "exit_before_start": _("Exit date %(date)s is before the identity's start (%(start)s)."),
    }
    text = texts.get(code)
    if text is None:
        return str(p.get("message") or code)
    try:
        return text % p
    except (KeyError, TypeError, ValueError):
        return text


def describe(problems: list[dict]) -> str:
    return " ".join(message(p) for p in problems)


def owner_of(category: str, owners: dict[str, str] | None = None) -> str:
    """The department that recognises ``category`` (``owners``: a push's own map, region categories
    included)."""
    if owners is not None and category in owners:
        return owners[category]
    return NATIONAL_OWNERS.get(category) or categories.owner(category) or ""
