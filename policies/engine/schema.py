"""The policy-version document: its schema, validation, and generic parameter access.

A document is plain JSON (see ``policies/seed/README.md``)::

    {"region": "360700", "document": "赣市府办字〔2022〕112号", "title": "...", "framework": false,
     "in_force_from": "2022-10-01", "in_force_to": null, "retroactive_from": "2022-10-01",
     "parameters": {"assistance": {"routes": [{"name": "inpatient", "label": "二类人员住院",
         "ratio": {"value": "0.75", "clause": "五(三)"}, ...}]}, ...}}

Every parameter is a *leaf*: an object with ``value`` (``null`` = unset: the document leaves the
number to someone else) and ``clause``, and optionally ``note``. Groups are objects without
``value``; lists hold groups. ``"none"`` is an explicit "no deductible / no cap", never the same as
unset.
"""
from __future__ import annotations

import copy
import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .codes import Code
from .constants import CATEGORIES, DEPARTMENTS, HOSPITAL_LEVELS, KINDS, LOCATIONS, RESIDENCES, SCHEMES, TILTED_SCOPES
from .errors import Problem, problem
from .money import decimals, to_decimal

NONE = "none"
_STAT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION_RE = re.compile(r"^\d{6}$")


# ---------------------------------------------------------------------------------------------
# Value types. Each parser returns the normalised Python value or raises Bad (a ValueError with
# its problem code and params; ``str()`` is the English reason).
# ---------------------------------------------------------------------------------------------

class Bad(ValueError):
    """A value's problem: the English reason (``str()``), its ``code`` (``policies.engine.codes``),
    ``params``, and ``within``: where inside the value, as steps ``[kind, key]`` (``["segment", 1]``,
    ``["part", "ratio"]``) that the reader's message names in words."""

    def __init__(self, code: str, text: str, *, within=(), **params):
        super().__init__(text)
        self.code, self.params, self.within = code, params, [list(s) for s in within]

    def inside(self, prefix: str, *steps, **params) -> Bad:
        """The same problem one level further out: ``prefix`` before the English reason, ``steps``
        before ``within``."""
        return Bad(self.code, f"{prefix}{self}", within=[*steps, *self.within], **{**self.params, **params})


def _bad(e: ValueError) -> Bad:
    return e if isinstance(e, Bad) else Bad(Code.DOC_BAD_SHAPE, str(e), shape="value")


def _decimal(v, *, lo: Decimal, hi: Decimal | None, places: int, what: str) -> Decimal:
    try:
        d = to_decimal(v)
    except ValueError:
        words = {"ratio": "ratio", "fraction": "fraction", "amount": "money amount",
                 "ratio_or_amount": "ratio or amount"}[what]
        raise Bad(Code.DOC_NOT_NUMBER, f"must be a {words} (a decimal string such as \"0.75\")",
                  what=what) from None
    if d < lo or (hi is not None and d > hi):
        if hi is None:
            raise Bad(Code.DOC_BELOW_MIN, f"must not be below {lo}", lo=str(lo))
        raise Bad(Code.DOC_OUT_OF_RANGE, f"must be between {lo} and {hi}", lo=str(lo), hi=str(hi))
    if decimals(d) > places:
        raise Bad(Code.DOC_TOO_MANY_DECIMALS, f"at most {places} decimals", places=places)
    return d


def p_ratio(v) -> Decimal:
    return _decimal(v, lo=Decimal(0), hi=Decimal(1), places=6, what="ratio")


def p_fraction(v) -> Decimal:
    return _decimal(v, lo=Decimal(0), hi=Decimal(10), places=6, what="fraction")


def p_amount(v) -> Decimal:
    return _decimal(v, lo=Decimal(0), hi=None, places=2, what="amount")


def p_amount_or_none(v):
    if v == NONE:
        return NONE
    try:
        return p_amount(v)
    except Bad as e:
        raise Bad(e.code, f"{e}, or \"none\"", within=e.within, **e.params, or_none=True) from None


def p_quantity(v):
    """``"none"`` | an amount | ``{"fraction": "0.10", "statistic": "city_income"}`` |
    ``{"by_level": {"1": "500.00", "2": "1000.00", "3": "2000.00"}}`` (per hospital level) |
    ``{"announced": "annual_deductible_dibao_edge"}`` (a yearly figure the bureau announces for the
    claim's own year, entered like a statistic; never computed)."""
    if v == NONE:
        return (NONE,)
    if isinstance(v, dict) and "by_level" in v:
        if set(v) != {"by_level"} or not isinstance(v["by_level"], dict) or not v["by_level"]:
            raise Bad(Code.DOC_BAD_SHAPE, "by_level must be an object of hospital level → amount, e.g. {\"1\": \"500.00\"}",
                      shape="by_level")
        levels = {}
        for k, amount in v["by_level"].items():
            if k not in ("1", "2", "3"):
                raise Bad(Code.DOC_NOT_LEVEL, f"by_level: {k!r} is not a hospital level 1, 2 or 3", value=str(k))
            try:
                levels[int(k)] = p_amount(amount)
            except Bad as e:
                raise e.inside(f"by_level.{k}: ", ["level", int(k)]) from None
        return ("by_level", levels)
    if isinstance(v, dict) and "announced" in v:
        name = v["announced"]
        if set(v) != {"announced"} or not isinstance(name, str) or not _STAT_RE.match(name):
            raise Bad(Code.DOC_NOT_CODE, "announced must name a yearly figure such as annual_deductible_dibao_edge",
                      what="announced", value=str(name))
        return ("announced", name)
    if isinstance(v, dict):
        extra = set(v) - {"fraction", "statistic"}
        if extra:
            raise Bad(Code.DOC_UNKNOWN_KEY, f"unknown key {sorted(extra)[0]!r} (expected fraction, statistic)",
                      key=sorted(extra)[0], shape="fraction")
        if "fraction" not in v or "statistic" not in v:
            raise Bad(Code.DOC_BAD_SHAPE, "a fraction of a statistic needs both \"fraction\" and \"statistic\"",
                      shape="fraction")
        stat = v["statistic"]
        if not isinstance(stat, str) or not _STAT_RE.match(stat):
            raise Bad(Code.DOC_NOT_CODE, "statistic must be a statistic code such as city_income",
                      what="statistic", value=str(stat))
        try:
            frac = p_fraction(v["fraction"])
        except Bad as e:
            raise e.inside("fraction ", ["part", "fraction"]) from None
        return ("fraction", frac, stat)
    try:
        return ("amount", p_amount(v))
    except ValueError:
        raise Bad(Code.DOC_NOT_QUANTITY,
                  "must be \"none\", a money amount, or {\"fraction\": ..., \"statistic\": ...}") from None


def p_ratio_add(v) -> Decimal:
    return _decimal(v, lo=Decimal(-1), hi=Decimal(1), places=6, what="ratio")


def p_adjustments(v) -> tuple:
    """``[{"hospital_level": 1, "add": "0.05"}, {"location": "county", "add": "-0.05"}]`` — points
    added to the route's ratio for claims at that level or location (the result is kept in [0, 1])."""
    if not isinstance(v, list):
        raise Bad(Code.DOC_BAD_SHAPE, "must be a list of {\"hospital_level\" or \"location\": ..., \"add\": ...}",
                  shape="adjustments")
    out = []
    for i, item in enumerate(v):
        at = ["adjustment", i]
        if not isinstance(item, dict) or "add" not in item or len(item) != 2:
            raise Bad(Code.DOC_BAD_SHAPE, f"adjustment {i}: must be {{\"hospital_level\" or \"location\": ..., "
                      f"\"add\": ratio}}", within=[at], shape="adjustment")
        try:
            add = p_ratio_add(item["add"])
        except Bad as e:
            raise e.inside(f"adjustment {i} add: ", at, ["part", "add"]) from None
        if "hospital_level" in item:
            if isinstance(item["hospital_level"], bool) or item["hospital_level"] not in HOSPITAL_LEVELS:
                raise Bad(Code.DOC_NOT_LEVEL, f"adjustment {i}: hospital_level must be 1, 2 or 3", within=[at],
                          value=str(item["hospital_level"]))
            out.append(("hospital_level", item["hospital_level"], add))
        elif "location" in item:
            if item["location"] not in LOCATIONS:
                raise Bad(Code.DOC_NOT_LOCATION, f"adjustment {i}: location must be one of {', '.join(LOCATIONS)}",
                          within=[at], value=str(item["location"]))
            out.append(("location", item["location"], add))
        else:
            raise Bad(Code.DOC_BAD_SHAPE, f"adjustment {i}: needs hospital_level or location", within=[at],
                      shape="adjustment")
    return tuple(out)


def p_floors(v) -> tuple:
    """``[{"categories": ["tekun", "dibao"], "min": "0.70"}]`` — assistance ratio floors."""
    if not isinstance(v, list):
        raise Bad(Code.DOC_BAD_SHAPE, "must be a list of {\"categories\": [...], \"min\": ratio}", shape="floors")
    out = []
    for i, item in enumerate(v):
        at = ["floor", i]
        if not isinstance(item, dict) or set(item) != {"categories", "min"}:
            raise Bad(Code.DOC_BAD_SHAPE, f"floor {i}: must be {{\"categories\": [...], \"min\": ratio}}",
                      within=[at], shape="floor")
        try:
            cats = p_categories(item["categories"])
        except Bad as e:
            raise e.inside(f"floor {i}: ", at, ["part", "categories"]) from None
        try:
            lo = p_ratio(item["min"])
        except Bad as e:
            raise e.inside(f"floor {i}: ", at, ["part", "min"]) from None
        out.append((cats, lo))
    return tuple(out)


def p_push_names(v) -> tuple:
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise Bad(Code.DOC_BAD_SHAPE, "must be a list of names (text)", shape="names")
    return tuple(x.strip() for x in v)


def p_year_amounts(v) -> dict[int, Decimal]:
    if not isinstance(v, dict):
        raise Bad(Code.DOC_BAD_SHAPE, "must be an object of year → amount, e.g. {\"2022\": \"2700.00\"}",
                  shape="year_amounts")
    out = {}
    for k, amount in v.items():
        if not (isinstance(k, str) and re.fullmatch(r"\d{4}", k)):
            raise Bad(Code.DOC_NOT_YEAR, f"{k!r} is not a year", value=str(k))
        try:
            out[int(k)] = p_amount(amount)
        except Bad as e:
            raise e.inside(f"{k}: ", ["year", int(k)]) from None
    return out


def p_bool(v) -> bool:
    if not isinstance(v, bool):
        raise Bad(Code.DOC_NOT_BOOL, "must be true or false")
    return v


def _p_int(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(v) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise Bad(Code.DOC_NOT_INT, "must be a whole number")
        if not lo <= v <= hi:
            raise Bad(Code.DOC_OUT_OF_RANGE, f"must be between {lo} and {hi}", lo=str(lo), hi=str(hi))
        return v
    return parse


def p_level_or_none(v):
    if v == NONE:
        return NONE
    if isinstance(v, bool) or v not in HOSPITAL_LEVELS:
        raise Bad(Code.DOC_NOT_LEVEL, "must be a hospital level 1, 2 or 3, or \"none\"", value=str(v), or_none=True)
    return v


def _p_enum(choices) -> Callable[[Any], str]:
    def parse(v) -> str:
        if v not in choices:
            raise Bad(Code.DOC_NOT_CHOICE, f"must be one of {', '.join(choices)}", value=str(v),
                      choices=list(choices))
        return v
    return parse


_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _p_list(choices, what: str, *, allow_empty: bool = True, codes: bool = False) -> Callable[[Any], tuple]:
    """A list of ``choices``; with ``codes``, any lower-case code (a region's own category, checked
    against the document's ``categories.regional`` afterwards)."""
    def parse(v) -> tuple:
        if not isinstance(v, list):
            raise Bad(Code.DOC_NOT_LIST, f"must be a list of {what}", what=what)
        for item in v:
            if codes and isinstance(item, str) and _CODE_RE.match(item):
                continue
            if isinstance(item, bool) or item not in choices:
                raise Bad(Code.DOC_UNKNOWN_ENTRY, f"unknown {what[:-1] if what.endswith('s') else what} {item!r}",
                          what=what, value=str(item))
        if len(set(v)) != len(v):
            raise Bad(Code.DOC_DUPLICATE_ENTRY, "lists an entry twice")
        if not v and not allow_empty:
            raise Bad(Code.DOC_EMPTY, "must not be empty")
        return tuple(v)
    return parse


p_categories = _p_list(CATEGORIES, "categories", codes=True)
p_locations = _p_list(LOCATIONS, "locations", allow_empty=False)
p_kinds = _p_list(KINDS, "claim kinds", allow_empty=False)
p_schemes = _p_list(SCHEMES, "schemes", allow_empty=False)
p_residences = _p_list(RESIDENCES, "residences", allow_empty=False)
p_levels = _p_list(HOSPITAL_LEVELS, "hospital levels", allow_empty=False)


def p_years_back(v) -> tuple[int, ...]:
    if not isinstance(v, list) or not v:
        raise Bad(Code.DOC_BAD_SHAPE, "must be a non-empty list of years back, e.g. [1, 2]", shape="years_back")
    for item in v:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 5:
            raise Bad(Code.DOC_BAD_SHAPE, "each entry must be a whole number of years between 1 and 5",
                      shape="years_back")
    if list(v) != sorted(set(v)):
        raise Bad(Code.DOC_NOT_INCREASING, "must be increasing without repeats")
    return tuple(v)


def p_name(v) -> str:
    if not isinstance(v, str) or not _NAME_RE.match(v):
        raise Bad(Code.DOC_NOT_CODE, "must be a lower-case name such as inpatient", what="name", value=str(v))
    return v


def p_segments(v) -> tuple[tuple[Decimal | None, Decimal], ...]:
    """``[{"up_to": "50000.00", "ratio": "0.60"}, {"up_to": "none", "ratio": "0.70"}]`` —
    each segment's upper bound of the year's cumulative base (``"none"``: no bound) and ratio."""
    if not isinstance(v, list) or not v:
        raise Bad(Code.DOC_BAD_SHAPE, "must be a non-empty list of {\"up_to\": ..., \"ratio\": ...}",
                  shape="segments")
    out = []
    previous = Decimal(-1)
    for i, seg in enumerate(v):
        at = ["segment", i]
        if not isinstance(seg, dict) or set(seg) != {"up_to", "ratio"}:
            raise Bad(Code.DOC_BAD_SHAPE, f"segment {i}: must be {{\"up_to\": amount or \"none\", \"ratio\": ratio}}",
                      within=[at], shape="segment")
        try:
            ratio = p_ratio(seg["ratio"])
        except Bad as e:
            raise e.inside(f"segment {i} ratio: ", at, ["part", "ratio"]) from None
        try:
            up = p_amount_or_none(seg["up_to"])
        except Bad as e:
            raise e.inside(f"segment {i} up_to: ", at, ["part", "up_to"]) from None
        if up == NONE:
            if i != len(v) - 1:
                raise Bad(Code.DOC_UNBOUNDED_NOT_LAST, f"segment {i}: only the last segment may have no upper bound",
                          within=[at])
            out.append((None, ratio))
        else:
            if up <= previous:
                raise Bad(Code.DOC_NOT_INCREASING, f"segment {i}: upper bounds must increase", within=[at])
            previous = up
            out.append((up, ratio))
    return tuple(out)


def p_subsidy_value(v) -> Decimal:
    return _decimal(v, lo=Decimal(0), hi=None, places=6, what="ratio_or_amount")


# ---------------------------------------------------------------------------------------------
# The schema tree.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Leaf:
    parse: Callable[[Any], Any]
    zh: str
    en: str
    required: bool = True


@dataclass(frozen=True)
class Group:
    zh: str
    children: dict
    strings: tuple[str, ...] = ()      # plain (non-parameter) string keys such as name/label


@dataclass(frozen=True)
class ListOf:
    zh: str
    item: Group


ROUTE = Group("救助路径", {
    "categories": Leaf(p_categories, "适用类别", "assistance categories"),
    "kinds": Leaf(p_kinds, "适用费用类型", "assistance claim kinds"),
    "special_disease": Leaf(_p_enum(("any", "required", "excluded")), "特殊疾病条件",
                            "assistance special-disease condition", False),
    "min_hospital_level": Leaf(p_level_or_none, "最低医院等级", "assistance minimum hospital level", False),
    "policy_scope_above": Leaf(p_amount_or_none, "单次政策范围内费用须超过", "assistance single-stay policy-scope threshold",
                               False),
    "hospital_levels": Leaf(p_levels, "适用医院等级", "assistance hospital levels", False),
    "locations": Leaf(p_locations, "适用就医地", "assistance locations", False),
    "deductible": Leaf(p_quantity, "救助起付标准", "assistance deductible"),
    "deductible_basis": Leaf(_p_enum(("annual", "per_claim")), "起付标准计算方式（年度累计/每次）",
                             "assistance deductible basis", False),
    "deductible_fixed": Leaf(p_year_amounts, "按年度确定的起付标准", "fixed yearly assistance deductible", False),
    "ratio": Leaf(p_ratio, "救助比例", "assistance ratio", False),
    "segments": Leaf(p_segments, "分段救助比例（按年度累计救助范围费用）", "assistance ratio segments", False),
    "ratio_adjustments": Leaf(p_adjustments, "救助比例调整（按医院等级或就医地）", "assistance ratio adjustments", False),
    "ratio_min": Leaf(p_ratio, "救助比例下限", "assistance ratio floor", False),
    "non_referral_reduction": Leaf(p_ratio, "未按规定转诊的救助比例降低", "assistance ratio reduction without referral",
                                   False),
    "pool": Leaf(p_name, "共用限额（资金池）", "assistance cap pool"),
    "cap": Leaf(p_amount_or_none, "年度救助限额", "assistance cap"),
    "sub_cap": Leaf(p_amount_or_none, "本路径年度救助限额（计入共用限额）", "assistance route sub-cap", False),
}, strings=("name", "label"))

TILTED_FIELDS = {
    "categories": Leaf(p_categories, "适用类别", "tilted-assistance categories"),
    "kinds": Leaf(p_kinds, "适用费用类型", "tilted-assistance claim kinds"),
    "scope": Leaf(_p_enum(tuple(TILTED_SCOPES) + ("any",)), "就医地域范围", "tilted-assistance location scope"),
    "on_application": Leaf(p_bool, "依申请", "tilted assistance on application"),
    "basis": Leaf(_p_enum(("annual", "per_stay")), "起付计算方式（年度累计/每次住院）", "tilted-assistance threshold basis"),
    "threshold": Leaf(p_quantity, "起付标准", "tilted-assistance threshold"),
    "ratio": Leaf(p_ratio, "救助比例", "tilted-assistance ratio"),
    "cap": Leaf(p_amount_or_none, "年度救助限额", "tilted-assistance cap"),
    "lookback_months": Leaf(_p_int(0, 12), "新认定对象追溯月数", "tilted-assistance look-back months"),
    "after_assistance_cap": Leaf(p_bool, "仅在医疗救助达到年度限额后给予", "tilted assistance only after the assistance cap",
                                 False),
}
TILTED_RULE = Group("倾斜救助规则", TILTED_FIELDS, strings=("name", "label"))

REGIONAL_CATEGORY = Group("本地救助对象类别", {
    "department": Leaf(_p_enum(DEPARTMENTS), "认定部门", "recognising department"),
    "push_names": Leaf(p_push_names, "部门推送名单中的名称", "names used in department pushes", False),
}, strings=("name", "label"))

UNSET_CATEGORIES = Group("待定救助类别", {
    "categories": Leaf(p_categories, "类别", "categories whose assistance is left to another rule"),
}, strings=("name", "label"))

BASIC_RULE = Group("支付规则", {
    "schemes": Leaf(p_schemes, "险种", "basic-insurance schemes"),
    "kinds": Leaf(p_kinds, "费用类型", "basic-insurance claim kinds"),
    "hospital_levels": Leaf(p_levels, "医院等级", "basic-insurance hospital levels"),
    "deductible": Leaf(p_amount_or_none, "起付标准（每次）", "basic-insurance deductible"),
    "ratio": Leaf(p_ratio, "支付比例", "basic-insurance ratio"),
    "ratio_min": Leaf(p_ratio, "支付比例下限", "basic-insurance ratio floor", False),
    "pool": Leaf(p_name, "共用限额（资金池）", "basic-insurance cap pool"),
    "cap": Leaf(p_amount_or_none, "年度最高支付限额", "basic-insurance cap"),
}, strings=("name", "label"))

SUBSIDY = Group("资助标准", {
    "categories": Leaf(p_categories, "适用类别", "enrolment subsidy categories"),
    "tier": Leaf(_p_int(1, 2), "居民医保档次", "enrolment subsidy scheme tier"),
    "basis": Leaf(_p_enum(("percent_of_personal", "fixed_amount", "percent_of_tier1_personal")),
                  "资助方式", "enrolment subsidy basis"),
    "standard": Leaf(p_subsidy_value, "资助比例或金额", "enrolment subsidy"),
    "standard_min": Leaf(p_ratio, "资助比例下限", "enrolment subsidy floor", False),
}, strings=("name", "label"))

SCHEMA = Group("参数", {
    "categories": Group("救助对象类别", {
        "recipients": Leaf(p_categories, "救助对象类别", "recipient categories"),
        "precedence": Leaf(p_categories, "多重身份优先顺序（就高不就低）", "category precedence"),
        "regional": ListOf("本地救助对象类别", REGIONAL_CATEGORY),
        "unset": ListOf("待定救助类别", UNSET_CATEGORIES),
    }),
    "statistics": Group("统计数据", {
        "years_back": Leaf(p_years_back, "取数年度（上年，未公布时上上年）", "statistic years back"),
    }),
    "basic": Group("基本医保", {"rules": ListOf("支付规则", BASIC_RULE)}),
    "critical": Group("大病保险", {
        "schemes": Leaf(p_schemes, "适用险种", "critical-illness schemes"),
        "deductible": Leaf(p_quantity, "起付标准", "critical-illness deductible"),
        "segments": Leaf(p_segments, "分段支付比例", "critical-illness segments"),
        "kinds": Leaf(p_kinds, "适用费用类型", "critical-illness claim kinds", False),
        "segment_ratio_min": Leaf(p_ratio, "分段支付比例下限", "critical-illness ratio floor", False),
        "cap": Leaf(p_amount_or_none, "年度最高支付限额", "critical-illness cap"),
        "preferential": Group("倾斜支付", {
            "categories": Leaf(p_categories, "倾斜支付类别", "critical-illness preferential categories"),
            "deductible_factor": Leaf(p_ratio, "起付标准系数", "critical-illness preferential deductible factor"),
            "ratio_add": Leaf(p_ratio, "支付比例提高", "critical-illness preferential ratio increase"),
            "cap": Leaf(p_amount_or_none, "年度最高支付限额", "critical-illness preferential cap"),
        }),
    }),
    "assistance": Group("医疗救助", {"routes": ListOf("救助路径", ROUTE)}),
    "tilted": Group("倾斜救助", TILTED_FIELDS),
    "tilted_rules": ListOf("倾斜救助规则", TILTED_RULE),
    "monitoring": Group("预警监测", {
        "return_to_poverty": Group("因病返贫监测", {
            "identities": Leaf(p_categories, "监测人群身份", "return-to-poverty watched identities"),
            "no_category": Leaf(p_bool, "含无救助身份人员", "return-to-poverty watches people with no category", False),
            "residence": Leaf(p_residences, "居住地", "return-to-poverty residence filter", False),
            "schemes": Leaf(p_schemes, "险种", "return-to-poverty scheme filter", False),
            "threshold": Leaf(p_quantity, "预警标准", "return-to-poverty threshold"),
        }),
        "fall_into_poverty": Group("因病致贫监测", {
            "identities": Leaf(p_categories, "监测人群身份", "fall-into-poverty watched identities", False),
            "no_category": Leaf(p_bool, "含无救助身份人员", "fall-into-poverty watches people with no category", False),
            "residence": Leaf(p_residences, "居住地", "fall-into-poverty residence filter"),
            "schemes": Leaf(p_schemes, "险种", "fall-into-poverty scheme filter"),
            "exclude_return_population": Leaf(p_bool, "不含因病返贫监测人群", "fall-into-poverty excludes the return-to-poverty population", False),
            "threshold": Leaf(p_quantity, "预警标准", "fall-into-poverty threshold"),
        }),
    }),
    "enrolment": Group("参保资助", {
        "subsidies": ListOf("资助标准", SUBSIDY),
        "employee_employer_rate": Leaf(p_ratio, "职工医保单位缴费率", "employer contribution rate", False),
        "employee_personal_rate": Leaf(p_ratio, "职工医保个人缴费率", "employee contribution rate", False),
        "newborn_enrol_within_months": Leaf(_p_int(0, 24), "新生儿参保期限（月）", "newborn enrolment window", False),
        "newborn_covered_from_birth": Leaf(p_bool, "新生儿自出生之日起享受待遇", "newborn covered from birth", False),
    }),
    "exchange": Group("信息共享", {
        "identity_lists_due_day": Leaf(_p_int(1, 31), "每月报送身份名单截止日", "monthly identity-list due day", False),
        "monitoring_push": Leaf(_p_enum(("monthly",)), "预警数据推送频率", "monitoring push frequency", False),
    }),
    "framework_rules": Group("省级框架规则", {
        "no_deductible_categories": Leaf(p_categories, "不设起付标准的类别", "categories without deductible", False),
        "shared_outpatient_inpatient_cap": Leaf(p_bool, "门诊和住院共用年度救助限额", "outpatient and inpatient share one cap", False),
        "critical_preferential_categories": Leaf(p_categories, "大病保险倾斜支付类别", "critical-illness preferential categories", False),
        "assistance_ratio_floors": Leaf(p_floors, "医疗救助比例下限", "assistance ratio floors", False),
    }),
})

LEAF_KEYS = frozenset({"value", "clause", "note"})
TOP_KEYS = ("region", "document", "title", "framework", "in_force_from", "in_force_to",
            "retroactive_from", "parameters")
OPTIONAL_TOP_KEYS = ("issued", "note", "inherits")


def is_leaf(node) -> bool:
    return isinstance(node, dict) and "value" in node


# ---------------------------------------------------------------------------------------------
# Walking a document along the schema.
# ---------------------------------------------------------------------------------------------

def _walk(node, spec, path: str, visit_leaf, errors: list[Problem] | None, labels: tuple[str, ...]):
    """Visit every leaf under ``node`` (described by ``spec``); structural problems go to errors."""
    def err(p, code, msg, **params):
        if errors is not None:
            errors.append(problem(code, p, msg, **params))

    if isinstance(spec, Leaf):
        if not is_leaf(node):
            err(path, Code.DOC_NOT_PARAMETER, "must be a parameter {\"value\": ..., \"clause\": ...}")
            return
        extra = set(node) - LEAF_KEYS
        if extra:
            err(path, Code.DOC_PARAMETER_KEY,
                f"unknown key {sorted(extra)[0]!r} in parameter (allowed: value, clause, note)", key=sorted(extra)[0])
        clause = node.get("clause")
        if clause is not None and not isinstance(clause, str):
            err(path + ".clause", Code.DOC_NOT_TEXT, "must be a string or null")
        note = node.get("note")
        if note is not None and not isinstance(note, str):
            err(path + ".note", Code.DOC_NOT_TEXT, "must be a string or null")
        visit_leaf(path, node, spec, labels + (spec.zh,))
        return
    if isinstance(spec, ListOf):
        if not isinstance(node, list):
            err(path, Code.DOC_NOT_LIST, "must be a list")
            return
        for i, item in enumerate(node):
            label = item.get("label") if isinstance(item, dict) else None
            if not isinstance(label, str) or not label:
                label = f"{spec.zh}{i + 1}"
            _walk(item, spec.item, f"{path}[{i}]", visit_leaf, errors, labels + (label,))
        return
    # Group
    if not isinstance(node, dict) or is_leaf(node):
        err(path or "parameters", Code.DOC_NOT_OBJECT, "must be an object of parameters")
        return
    for key, child in node.items():
        child_path = f"{path}.{key}" if path else key
        if key in spec.strings:
            if not isinstance(child, str):
                err(child_path, Code.DOC_NOT_TEXT, "must be a string")
            continue
        child_spec = spec.children.get(key)
        if child_spec is None:
            err(child_path, Code.DOC_UNKNOWN_PARAMETER, "unknown parameter", key=key)
            if is_leaf(child):  # still listed for a generic editor
                visit_leaf(child_path, child, None, labels + (key,))
            continue
        child_labels = labels if isinstance(child_spec, Leaf) else labels + (
            (child_spec.zh,) if isinstance(child_spec, Group) else ())
        _walk(child, child_spec, child_path, visit_leaf, errors, child_labels)
    for key, child_spec in spec.children.items():
        if key in node:
            continue
        if isinstance(child_spec, Leaf) and child_spec.required:
            err(f"{path}.{key}" if path else key, Code.DOC_MISSING, "missing (use {\"value\": null} for unset)")


def _check_date(doc, key, errors, *, required: bool):
    v = doc.get(key)
    if v is None:
        if required:
            errors.append(problem(Code.DOC_REQUIRED, key, "required (YYYY-MM-DD)", what="date"))
        return None
    if not isinstance(v, str) or not _DATE_RE.match(v):
        errors.append(problem(Code.DOC_NOT_DATE, key, "not a date (expected YYYY-MM-DD)"))
        return None
    try:
        return _dt.date.fromisoformat(v)
    except ValueError:
        errors.append(problem(Code.DOC_NOT_DATE, key, "not a date (expected YYYY-MM-DD)"))
        return None


def parse_leaves(doc: dict, errors: list[Problem] | None = None) -> dict[str, Any]:
    """Every set leaf's parsed value by path; unset leaves map to None. Problems go to errors."""
    values: dict[str, Any] = {}

    def visit(path, node, spec, labels):
        v = node.get("value")
        if v is None or spec is None:
            values[path] = None
            return
        try:
            values[path] = spec.parse(v)
        except ValueError as e:
            values[path] = None
            if errors is not None:
                bad = _bad(e)
                params = dict(bad.params)
                if bad.within:
                    params["within"] = bad.within
                errors.append(problem(bad.code, path, str(bad), **params))

    params = doc.get("parameters")
    _walk(params if params is not None else {}, SCHEMA, "", visit, errors, ())
    return values


def validate_document(doc: dict) -> list[str]:
    """The English sentences of :func:`document_problems` (``path: reason``; for logs, the command
    line and the older callers). An empty list means the document is valid."""
    return [p.text for p in document_problems(doc)]


def document_problems(doc: dict) -> list[Problem]:
    """Schema and semantic problems of a version document, each a :class:`Problem` (a code of
    ``policies.engine.codes``, its params, and the path of the field or parameter; its ``text`` is
    the English ``path: reason``), worded for the reader by ``policies.messages.render``. Unset
    values (null) are valid; an empty list means the document is valid."""
    errors: list[Problem] = []
    if not isinstance(doc, dict):
        return [problem(Code.DOC_NOT_OBJECT, None, "document: must be a JSON object")]
    for key in doc:
        if key not in TOP_KEYS and key not in OPTIONAL_TOP_KEYS:
            errors.append(problem(Code.DOC_UNKNOWN_FIELD, None, f"{key}: unknown field", key=str(key)))
    region = doc.get("region")
    if not isinstance(region, str) or not _REGION_RE.match(region):
        errors.append(problem(Code.DOC_NOT_REGION, "region", "must be a 6-digit region code (GB/T 2260)",
                              value=str(region)))
    for key in ("document", "title"):
        if not isinstance(doc.get(key), str) or not doc.get(key).strip():
            errors.append(problem(Code.DOC_REQUIRED, key, "required text", what="text"))
    if not isinstance(doc.get("framework"), bool):
        errors.append(problem(Code.DOC_NOT_BOOL, "framework", "must be true or false"))
    start = _check_date(doc, "in_force_from", errors, required=True)
    end = _check_date(doc, "in_force_to", errors, required=False)
    retro = _check_date(doc, "retroactive_from", errors, required=False)
    _check_date(doc, "issued", errors, required=False)
    if start and end and end < start:
        errors.append(problem(Code.DOC_END_BEFORE_START, "in_force_to", f"{end} is before in_force_from {start}",
                              end=str(end), start=str(start)))
    if start and retro and retro > start:
        errors.append(problem(Code.DOC_RETRO_AFTER_START, "retroactive_from",
                              f"{retro} is after in_force_from {start}", retroactive=str(retro), start=str(start)))
    if "parameters" not in doc:
        errors.append(problem(Code.DOC_REQUIRED, "parameters", "required"))
        return errors
    if not isinstance(doc["parameters"], dict):
        errors.append(problem(Code.DOC_NOT_OBJECT, "parameters", "must be an object of parameters"))
        return errors
    values = parse_leaves(doc, errors)
    if doc.get("inherits") is not None:
        # A county that inherits its city's version says only what its own document adds or overrides.
        errors[:] = [e for e in errors if e.code != Code.DOC_MISSING]
    _semantic_checks(doc, values, errors)
    return errors


_CATEGORY_LIST_RE = re.compile(r"(^|\.)(categories|recipients|precedence|identities)$")


def regional_categories(doc: dict) -> dict[str, dict]:
    """The document's own categories: {code: {"label", "department", "push_names", "clause"}}."""
    items = (((doc.get("parameters") or {}).get("categories") or {}).get("regional") or [])
    out = {}
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        dep = item.get("department") if isinstance(item.get("department"), dict) else {}
        names = item.get("push_names") if isinstance(item.get("push_names"), dict) else {}
        out[item["name"]] = {"label": item.get("label") or item["name"], "department": dep.get("value"),
                             "push_names": list(names.get("value") or ()), "clause": dep.get("clause")}
    return out


def _category_checks(doc: dict, values: dict[str, Any], errors: list[Problem]) -> None:
    regional = (((doc.get("parameters") or {}).get("categories") or {}).get("regional") or [])
    own: set[str] = set()
    if isinstance(regional, list):
        for i, item in enumerate(regional):
            name = item.get("name") if isinstance(item, dict) else None
            path = f"categories.regional[{i}].name"
            if not isinstance(name, str) or not _CODE_RE.match(name):
                errors.append(problem(Code.DOC_NOT_CODE, path, "must be a lower-case code such as de_facto_orphan",
                                      what="category", value=str(name)))
                continue
            if name in CATEGORIES:
                errors.append(problem(Code.DOC_NATIONAL_CATEGORY, path, f"{name} is already a national category",
                                      value=name))     # named by the national list's name
            elif name in own:
                label = item.get("label") if isinstance(item.get("label"), str) else None
                errors.append(problem(Code.DOC_DEFINED_TWICE, path, f"{name} is defined twice", value=name,
                                      label=label))
            own.add(name)
            if not isinstance(item.get("label"), str) or not item["label"].strip():
                errors.append(problem(Code.DOC_REQUIRED, f"categories.regional[{i}].label",
                                      "required (the category's Chinese name)", what="text"))
    if doc.get("inherits") is not None or doc.get("framework") is True:
        return      # may name the categories of the region it inherits from / of the cities below
    for path, value in values.items():
        if value is None or not _CATEGORY_LIST_RE.search(path) or not isinstance(value, tuple):
            continue
        if path.startswith("categories.regional") or path.startswith("framework_rules"):
            continue
        for c in value:
            if isinstance(c, str) and c not in CATEGORIES and c not in own:
                errors.append(problem(Code.DOC_UNKNOWN_CATEGORY, path,
                                      f"unknown category {c!r} (not national, and not one of categories.regional)",
                                      value=c))


def _semantic_checks(doc: dict, values: dict[str, Any], errors: list[Problem]) -> None:
    params = doc["parameters"]
    is_framework = doc.get("framework") is True
    inherits = doc.get("inherits")
    if inherits is not None and (not isinstance(inherits, str) or not _REGION_RE.match(inherits)
                                 or inherits == doc.get("region")):
        errors.append(problem(Code.DOC_NOT_REGION, "inherits",
                              "must be the 6-digit code of the region whose version this one inherits",
                              value=str(inherits), inherits=True))
    _category_checks(doc, values, errors)
    if not is_framework and "categories" not in params:
        errors.append(problem(Code.DOC_MISSING, "categories", "missing (recipients and precedence)"))
    recipients = values.get("categories.recipients")
    precedence = values.get("categories.precedence")
    if recipients is not None and precedence is not None:
        for c in precedence:
            if c not in recipients:
                errors.append(problem(Code.DOC_NOT_RECIPIENT, "categories.precedence",
                                      f"{c} is not one of categories.recipients", category=c))

    def floor(path_value: str, path_min: str, what: str):
        v, lo = values.get(path_value), values.get(path_min)
        if v is not None and lo is not None and v < lo:
            clause = _clause(params, path_min)
            errors.append(problem(Code.DOC_BELOW_FLOOR, path_value, f"{v} is below the {what} floor {lo}"
                                  + (f" ({clause})" if clause else ""), value=str(v), floor=str(lo), clause=clause,
                                  what=what))

    def within_recipients(path: str):
        cats = values.get(path)
        if cats is None or recipients is None:
            return
        for c in cats:
            if c not in recipients:
                errors.append(problem(Code.DOC_NOT_RECIPIENT, path, f"{c} is not one of categories.recipients",
                                      category=c))

    pools: dict[str, tuple[str, Any]] = {}
    for section, key in (("assistance", "routes"), ("basic", "rules"), ("enrolment", "subsidies")):
        items = params.get(section, {}).get(key) if isinstance(params.get(section), dict) else None
        if not isinstance(items, list):
            continue
        for i, _item in enumerate(items):
            base = f"{section}.{key}[{i}]"
            floor(f"{base}.ratio", f"{base}.ratio_min", "ratio")
            if section == "assistance" and isinstance(_item, dict):
                if "ratio" not in _item and "segments" not in _item and inherits is None:
                    errors.append(problem(Code.DOC_RATIO_MISSING, f"{base}.ratio",
                                          "missing (a ratio, or segments; {\"value\": null} for unset)"))
                if values.get(f"{base}.ratio") is not None and values.get(f"{base}.segments") is not None:
                    errors.append(problem(Code.DOC_RATIO_AND_SEGMENTS, f"{base}.segments",
                                          "a route has either a ratio or segments, not both"))
                segs, lo = values.get(f"{base}.segments"), values.get(f"{base}.ratio_min")
                if segs is not None and lo is not None:
                    for k, (_, r) in enumerate(segs):
                        if r < lo:
                            clause = _clause(params, f"{base}.ratio_min")
                            errors.append(problem(Code.DOC_BELOW_FLOOR, f"{base}.segments",
                                                  f"segment {k} ratio {r} is below the ratio floor {lo}"
                                                  + (f" ({clause})" if clause else ""), value=str(r), floor=str(lo),
                                                  clause=clause, what="ratio", within=[["segment", k]]))
            if section == "assistance":
                within_recipients(f"{base}.categories")
                pool = values.get(f"{base}.pool")
                cap = values.get(f"{base}.cap")
                if pool is not None and values.get(f"{base}.categories") is not None:
                    pools.setdefault(pool, (base, cap))
            if section == "enrolment":
                basis = values.get(f"{base}.basis")
                value = values.get(f"{base}.standard")
                if basis in ("percent_of_personal", "percent_of_tier1_personal") and value is not None:
                    if value > 1:
                        errors.append(problem(Code.DOC_OUT_OF_RANGE, f"{base}.standard",
                                              "a percentage must be between 0 and 1", lo="0", hi="1"))
                elif basis == "fixed_amount" and value is not None and decimals(value) > 2:
                    errors.append(problem(Code.DOC_TOO_MANY_DECIMALS, f"{base}.standard",
                                          "an amount has at most two decimals", places=2))
                floor(f"{base}.standard", f"{base}.standard_min", "subsidy")
                within_recipients(f"{base}.categories")
    within_recipients("tilted.categories")
    rules = params.get("tilted_rules")
    if isinstance(rules, list):
        for i in range(len(rules)):
            within_recipients(f"tilted_rules[{i}].categories")
    within_recipients("critical.preferential.categories")
    segments = values.get("critical.segments")
    seg_min = values.get("critical.segment_ratio_min")
    if segments is not None:
        for i, (_, ratio) in enumerate(segments):
            if seg_min is not None and ratio < seg_min:
                clause = _clause(params, "critical.segment_ratio_min")
                errors.append(problem(Code.DOC_BELOW_FLOOR, "critical.segments",
                                      f"segment {i} ratio {ratio} is below the floor {seg_min}"
                                      + (f" ({clause})" if clause else ""), value=str(ratio), floor=str(seg_min),
                                      clause=clause, what="ratio", within=[["segment", i]]))
        add = values.get("critical.preferential.ratio_add")
        if add is not None and max(r for _, r in segments) + add > 1:
            errors.append(problem(Code.DOC_ABOVE_ONE_WITH_INCREASE, "critical.preferential.ratio_add",
                                  "a segment ratio plus the increase exceeds 1"))
    for path in ("assistance.routes", "basic.rules", "tilted_rules"):
        try:
            items = _get_node(params, path)
        except KeyError:
            continue
        if isinstance(items, list):
            names = [it.get("name") for it in items if isinstance(it, dict)]
            if not all(isinstance(n, str) and n for n in names):
                errors.append(problem(Code.DOC_ENTRY_NEEDS_NAME, path, "every entry needs a \"name\""))


def _clause(params: dict, path: str) -> str | None:
    try:
        node = _get_node(params, path)
    except KeyError:
        return None
    return node.get("clause") if is_leaf(node) else None


# ---------------------------------------------------------------------------------------------
# Generic parameter access for editors.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParameterLeaf:
    path: str
    value: Any
    clause: str | None
    label: str
    note: str | None = None
    description: str | None = None      # English name used in error messages


def parameter_leaves(doc: dict) -> list[ParameterLeaf]:
    """Every parameter of the document, flattened in document order, with a Chinese label."""
    out: list[ParameterLeaf] = []

    def visit(path, node, spec, labels):
        out.append(ParameterLeaf(path=path, value=node.get("value"), clause=node.get("clause"),
                                 label=" · ".join(labels), note=node.get("note"),
                                 description=spec.en if spec is not None else None))

    _walk(doc.get("parameters") or {}, SCHEMA, "", visit, None, ())
    return out


_TOKEN_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_path(path: str) -> list[str | int]:
    if not isinstance(path, str) or not path:
        raise KeyError(f"{path!r}: not a parameter path")
    parts: list[str | int] = []
    pos = 0
    for m in _TOKEN_RE.finditer(path):
        sep = path[pos:m.start()]
        if sep not in ("", ".") or (sep == "." and m.group(1) is None):
            raise KeyError(f"{path}: not a parameter path")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or path.startswith("."):
        raise KeyError(f"{path}: not a parameter path")
    return parts


def _get_node(params, path: str):
    node = params
    for part in _split_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise KeyError(f"{path}: no such parameter")
            node = node[part]
        else:
            if not isinstance(node, dict) or is_leaf(node) or part not in node:
                raise KeyError(f"{path}: no such parameter")
            node = node[part]
    return node


def get_parameter(doc: dict, path: str):
    """The value of the leaf at ``path`` (``None`` when unset); KeyError when there is no such leaf."""
    node = _get_node(doc.get("parameters") or {}, path)
    if not is_leaf(node):
        raise KeyError(f"{path}: not a parameter (a group)")
    return node["value"]


def set_parameter(doc: dict, path: str, value) -> dict:
    """A new document with the leaf at ``path`` set to ``value`` (clause and note kept).
    The input document is not modified. Validate the result with validate_document."""
    new = copy.deepcopy(doc)
    node = _get_node(new.get("parameters") or {}, path)
    if not is_leaf(node):
        raise KeyError(f"{path}: not a parameter (a group)")
    node["value"] = copy.deepcopy(value)
    return new


def leaf_info(doc: dict, path: str) -> tuple[str | None, str]:
    """(clause, English description) of a leaf, for messages."""
    params = doc.get("parameters") or {}
    try:
        node = _get_node(params, path)
        clause = node.get("clause") if is_leaf(node) else None
    except KeyError:
        clause = None
    spec = _spec_for(path)
    return clause, (spec.en if spec is not None else path)


def _spec_for(path: str):
    spec = SCHEMA
    for part in _split_path(path):
        if isinstance(part, int):
            if not isinstance(spec, ListOf):
                return None
            spec = spec.item
        else:
            if not isinstance(spec, Group) or part not in spec.children:
                return None
            spec = spec.children[part]
    return spec
