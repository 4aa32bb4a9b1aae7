"""Parameter values as people read and type them, and back.

The engine's schema (``policies.engine.schema``) says what each parameter holds; here each kind
gets a Chinese rendering (``75%``, ``2,700.00 元``, ``10% × 城乡居民人均可支配收入``, ``特困人员、低保对象``)
and a forgiving parser for what a policy admin types into the editor (``75%`` or ``0.75``;
``50,000``; ``不设``; ``10% city_income``; category codes or Chinese names). An empty input means
*unset*. The engine validates the parsed value; ``ValueError`` here carries the reason in words.
"""
from __future__ import annotations

import datetime
import inspect
import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from portal.numbers import NotPlainNumber, plain_decimal

from .engine import schema
from .engine.constants import CATEGORY_NAMES, KIND_NAMES, STATISTIC_NAMES

NONE = "none"
NONE_WORDS = {"none", "不设", "无", "不封顶", "不设起付", "取消"}
UNSET_WORDS = {"", "未设定", "null"}

SCHEME_NAMES = {"resident": "居民医保", "employee": "职工医保"}
RESIDENCE_NAMES = {"rural": "农村", "urban": "城镇"}
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
LOCATION_NAMES = {"county": "县域内", "city": "市域内（县外）", "province": "省内（市外）", "out_of_province": "省外"}
DEPARTMENT_NAMES = {"medical_security": "医疗保障部门", "civil_affairs": "民政部门", "rural_revitalisation": "乡村振兴部门",
                    "veterans_affairs": "退役军人事务部门", "finance": "财政部门", "tax": "税务部门"}
ENUM_NAMES = {
    "any": "不限", "required": "须为特殊疾病", "excluded": "非特殊疾病",
    "annual": "年度累计", "per_stay": "每次住院", "per_claim": "每次（每次住院或门诊）",
    "province": "省内", "city": "市内",
    "monthly": "每月",
    **DEPARTMENT_NAMES,
    "percent_of_personal": "个人缴费的比例", "fixed_amount": "定额", "percent_of_tier1_personal": "一档个人缴费的比例",
}
LIST_NAMES = {
    "categories": CATEGORY_NAMES,
    "claim kinds": KIND_NAMES,
    "schemes": SCHEME_NAMES,
    "residences": RESIDENCE_NAMES,
    "hospital levels": LEVEL_NAMES,
    "locations": LOCATION_NAMES,
}


# ---------------------------------------------------------------------------------------------
# What kind of value a parameter holds
# ---------------------------------------------------------------------------------------------


def spec_at(path: str):
    """The schema node (Group, ListOf or Leaf) at a document path, or None."""
    spec = schema.SCHEMA
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if token.startswith("["):
            if not isinstance(spec, schema.ListOf):
                return None
            spec = spec.item
        else:
            if not isinstance(spec, schema.Group) or token not in spec.children:
                return None
            spec = spec.children[token]
    return spec


def _spec(path: str):
    spec = spec_at(path)
    return spec if isinstance(spec, schema.Leaf) else None


@lru_cache(maxsize=512)
def _kind_and_choices(path: str) -> tuple[str, tuple]:
    spec = _spec(re.sub(r"\[\d+\]", "[0]", path))
    if spec is None:
        return "json", ()
    fn = spec.parse
    name = getattr(fn, "__qualname__", "")
    simple = {
        "p_ratio": "ratio",
        "p_fraction": "ratio",
        "p_amount": "amount",
        "p_amount_or_none": "amount_or_none",
        "p_quantity": "quantity",
        "p_year_amounts": "year_amounts",
        "p_bool": "bool",
        "p_level_or_none": "level_or_none",
        "p_years_back": "years_back",
        "p_name": "name",
        "p_segments": "segments",
        "p_subsidy_value": "decimal",
        "p_push_names": "names",
        "p_adjustments": "adjustments",
        "p_floors": "floors",
        "p_ratio_add": "ratio",
    }
    if name in simple:
        return simple[name], ()
    try:
        closure = inspect.getclosurevars(fn).nonlocals
    except TypeError:
        closure = {}
    if name.startswith("_p_enum"):
        return "enum", tuple(closure.get("choices", ()))
    if name.startswith("_p_list"):
        return f"list:{closure.get('what', '')}", tuple(closure.get("choices", ()))
    if name.startswith("_p_int"):
        return "int", (closure.get("lo"), closure.get("hi"))
    return "json", ()


def kind_of(path: str) -> str:
    return _kind_and_choices(path)[0]


def choices_of(path: str) -> tuple:
    return _kind_and_choices(path)[1]


# ---------------------------------------------------------------------------------------------
# Showing values
# ---------------------------------------------------------------------------------------------


def _dec(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value) -> str:
    d = _dec(value)
    return f"{d:,.2f}" if d is not None else str(value)


def percent(value) -> str:
    d = _dec(value)
    if d is None:
        return str(value)
    text = format((d * 100).normalize(), "f")
    return f"{text}%"


def _quantity_text(value, *, for_input: bool) -> str:
    if value == NONE:
        return "none" if for_input else _("none (not applied)")
    if isinstance(value, dict) and "by_level" in value and isinstance(value["by_level"], dict):
        return "；".join(_("%(level)s hospital %(amount)s yuan") % {"level": LEVEL_NAMES.get(int(k), k), "amount": money(v)}
                        for k, v in sorted(value["by_level"].items()))
    if isinstance(value, dict) and "announced" in value:
        return _("the amount announced for the claim's year (%(name)s)") % {"name": figure_name(value["announced"])}
    if isinstance(value, dict) and "fraction" in value:
        stat = value.get("statistic", "")
        if for_input:
            return f"{percent(value['fraction'])} × {stat}"
        name = STATISTIC_NAMES.get(stat, stat)
        return f"{percent(value['fraction'])} × {name}"
    return money(value) if not for_input else str(value)


def figure_name(name: str) -> str:
    """A statistic's or announced amount's name in words (its code when no name is known)."""
    if name in STATISTIC_NAMES:
        return STATISTIC_NAMES[name]
    m = re.fullmatch(r"annual_deductible_(\w+)", name or "")
    if m and m.group(1) in CATEGORY_NAMES:
        return _("annual deductible of %(category)s") % {"category": CATEGORY_NAMES[m.group(1)]}
    return name


def _list_names(kind: str) -> dict:
    return LIST_NAMES.get(kind.split(":", 1)[1], {}) if kind.startswith("list:") else {}


def show(value: Any, kind: str) -> str:
    """The value as a reader sees it (``未设定`` when unset)."""
    if value is None:
        return _("unset")
    try:
        if kind == "ratio":
            return percent(value)
        if kind == "amount":
            return _("%(amount)s yuan") % {"amount": money(value)}
        if kind == "amount_or_none":
            return _("none (not applied)") if value == NONE else _("%(amount)s yuan") % {"amount": money(value)}
        if kind == "quantity":
            text = _quantity_text(value, for_input=False)
            return text if value == NONE or isinstance(value, dict) else _("%(amount)s yuan") % {"amount": text}
        if kind == "year_amounts":
            return "；".join(
                _("%(year)s: %(amount)s yuan") % {"year": y, "amount": money(v)} for y, v in sorted(value.items())
            )
        if kind == "bool":
            return _("yes") if value else _("no")
        if kind == "level_or_none":
            return _("none (not applied)") if value == NONE else LEVEL_NAMES.get(value, str(value))
        if kind == "enum":
            return ENUM_NAMES.get(value, str(value))
        if kind.startswith("list:"):
            names = _list_names(kind)
            if not value:
                return _("(none)")
            return "、".join(str(names.get(v, v)) for v in value)
        if kind == "years_back":
            return "、".join(_("%(n)s year(s) back") % {"n": n} for n in value)
        if kind == "names":
            return "、".join(str(v) for v in value) if value else _("(none)")
        if kind == "adjustments":
            parts = []
            for adj in value:
                add = _dec(adj.get("add")) or Decimal(0)
                points = format((abs(add) * 100).normalize(), "f")
                where = (_("at %(level)s hospitals") % {"level": LEVEL_NAMES.get(adj["hospital_level"], adj["hospital_level"])}
                         if "hospital_level" in adj else _("treated %(where)s") % {"where": LOCATION_NAMES.get(adj.get("location"), adj.get("location"))})
                parts.append((_("%(where)s %(points)s points higher") if add >= 0 else _("%(where)s %(points)s points lower"))
                             % {"where": where, "points": points})
            return "；".join(parts) if parts else _("(none)")
        if kind == "floors":
            return "；".join(_("%(categories)s at least %(min)s") % {
                "categories": "、".join(CATEGORY_NAMES.get(c, c) for c in f.get("categories", [])), "min": percent(f.get("min"))}
                for f in value) if value else _("(none)")
        if kind == "segments":
            parts = []
            for seg in value:
                up = seg.get("up_to")
                bound = _("above") if up == NONE else _("up to %(amount)s") % {"amount": money(up)}
                parts.append(f"{bound} {percent(seg.get('ratio'))}")
            return "；".join(parts)
    except (TypeError, AttributeError, ValueError):
        pass
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def as_input(value: Any, kind: str) -> str:
    """The value as it appears in the editor's text box (parsed back by :func:`parse`)."""
    if value is None:
        return ""
    try:
        if kind == "ratio":
            return percent(value)
        if kind in ("amount", "decimal", "name", "enum"):
            return str(value)
        if kind == "names":
            return "、".join(str(v) for v in value)
        if kind == "amount_or_none":
            return "none" if value == NONE else str(value)
        if kind == "quantity":
            return _quantity_text(value, for_input=True)
        if kind == "year_amounts":
            return "; ".join(f"{y}: {v}" for y, v in sorted(value.items()))
        if kind == "bool":
            return "true" if value else "false"
        if kind in ("int", "level_or_none"):
            return str(value)
        if kind.startswith("list:") or kind == "years_back":
            return ", ".join(str(v) for v in value)
        if kind == "segments":
            return "; ".join(
                f"{'none' if s.get('up_to') == NONE else s.get('up_to')}: {percent(s.get('ratio'))}" for s in value
            )
    except (TypeError, AttributeError, ValueError):
        pass
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Parsing what was typed
# ---------------------------------------------------------------------------------------------


def _number(text: str, what: str) -> Decimal:
    cleaned = text.replace(",", "").replace("，", "").replace("元", "").strip()
    try:   # plain ASCII decimals only: never 1e4, 1_000 or other scripts' digits (portal.numbers)
        d = plain_decimal(cleaned)
    except NotPlainNumber:
        raise ValueError(_("%(text)s is not %(what)s") % {"text": text, "what": what}) from None
    if abs(d) >= Decimal("1e15") or (d != 0 and abs(d) < Decimal("1e-9")):
        raise ValueError(_("%(text)s is too large or too small") % {"text": text})
    return d


def _ratio(text: str) -> str:
    text = text.strip()
    if text.endswith(("%", "％")):
        d = _number(text[:-1], _("a percentage")) / 100
    else:
        d = _number(text, _("a ratio such as 0.75 or 75%"))
    d = d.normalize()
    if d == d.to_integral():
        d = d.quantize(Decimal("0.01"))
    elif -d.as_tuple().exponent < 2:
        d = d.quantize(Decimal("0.01"))
    return format(d, "f")


def _amount(text: str) -> str:
    d = _number(text, _("a money amount"))
    if d != d.quantize(Decimal("0.01")):
        raise ValueError(_("%(text)s has more than two decimals") % {"text": text})
    return format(d.quantize(Decimal("0.01")), "f")


_QUANTITY_RE = re.compile(r"^\s*([\d.,]+\s*[%％]?)\s*(?:[×xX*]|of)?\s*([a-z][a-z0-9_]*)\s*$")


def _list_item(token: str, kind: str, choices: tuple):
    names = _list_names(kind)
    by_name = {str(v): k for k, v in names.items()}
    for choice in choices:
        if token == str(choice):
            return choice
    if token in by_name:
        return by_name[token]
    known = "、".join(f"{c}（{names.get(c, c)}）" if names else str(c) for c in choices)
    raise ValueError(_("unknown entry %(token)s; use one of %(known)s") % {"token": token, "known": known})


def parse(text: str, kind: str, choices: tuple = ()) -> Any:
    """What the admin typed → the document value (None = unset). Raises ValueError(reason)."""
    raw = (text or "").strip()
    if raw in UNSET_WORDS:
        return None
    if kind == "ratio":
        return _ratio(raw)
    if kind == "amount":
        return _amount(raw)
    if kind == "decimal":
        return format(_number(raw, _("a number")).normalize(), "f")
    if kind == "amount_or_none":
        return NONE if raw.lower() in NONE_WORDS else _amount(raw)
    if kind == "quantity":
        if raw.lower() in NONE_WORDS:
            return NONE
        if raw.startswith("{"):
            return _json(raw)
        m = _QUANTITY_RE.match(raw)
        if m:
            fraction = _ratio(m.group(1))
            return {"fraction": fraction, "statistic": m.group(2)}
        for code, name in STATISTIC_NAMES.items():
            if name in raw:
                return {"fraction": _ratio(raw.split("×")[0].replace(name, "")), "statistic": code}
        return _amount(raw)
    if kind == "year_amounts":
        if raw.startswith("{"):
            return _json(raw)
        out = {}
        for part in re.split(r"[;；\n]", raw):
            if not part.strip():
                continue
            m = re.fullmatch(r"(\d{4})\s*年?\s*[:：=]\s*(.+)", part.strip())
            if not m:
                raise ValueError(_("write each year as 2022: 2700.00, separated by semicolons"))
            out[m.group(1)] = _amount(m.group(2))
        return out
    if kind == "bool":
        low = raw.lower()
        if low in {"true", "yes", "是", "1"}:
            return True
        if low in {"false", "no", "否", "0"}:
            return False
        raise ValueError(_("answer yes (是) or no (否)"))
    if kind in ("int", "level_or_none"):
        if kind == "level_or_none" and raw.lower() in NONE_WORDS:
            return NONE
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(_("%(text)s is not a whole number") % {"text": raw})
        return int(raw)
    if kind == "enum":
        for choice in choices:
            if raw == choice or raw == ENUM_NAMES.get(choice):
                return choice
        known = "、".join(f"{c}（{ENUM_NAMES.get(c, c)}）" for c in choices)
        raise ValueError(_("unknown entry %(token)s; use one of %(known)s") % {"token": raw, "known": known})
    if kind.startswith("list:"):
        if raw.startswith("["):
            return _json(raw)
        if raw in {"(none)", "（无）", "无"}:
            return []
        tokens = [t.strip() for t in re.split(r"[,，、;；>＞\s]+", raw) if t.strip()]
        if choices and all(isinstance(c, int) for c in choices):
            numerals = {"一": "1", "二": "2", "三": "3"}
            levels = []
            for t in tokens:
                digits = numerals.get(t.replace("级", ""), t.replace("级", ""))
                if not digits.isdigit() or int(digits) not in choices:
                    known = "、".join(str(c) for c in choices)
                    raise ValueError(_("unknown entry %(token)s; use one of %(known)s") % {"token": t, "known": known})
                levels.append(int(digits))
            return levels
        return [_list_item(t, kind, choices) for t in tokens]
    if kind == "years_back":
        if raw.startswith("["):
            return _json(raw)
        tokens = [t for t in re.split(r"[,，、;；\s]+", raw) if t]
        if not all(re.fullmatch(r"\d+", t) for t in tokens):
            raise ValueError(_("write whole numbers of years back, e.g. 1, 2"))
        return [int(t) for t in tokens]
    if kind == "segments":
        if raw.startswith("["):
            return _json(raw)
        segments = []
        for part in re.split(r"[;；\n]", raw):
            if not part.strip():
                continue
            bits = re.split(r"\s*[:：]\s*", part.strip(), maxsplit=1)
            if len(bits) != 2:
                raise ValueError(_("write each segment as upper bound: ratio, e.g. 50000: 60%; none: 70%"))
            up = NONE if bits[0].lower() in NONE_WORDS | {"以上", "above"} else _amount(bits[0])
            segments.append({"up_to": up, "ratio": _ratio(bits[1])})
        return segments
    if kind == "name":
        return raw
    if kind == "names":
        if raw.startswith("["):
            return _json(raw)
        return [t.strip() for t in re.split(r"[,，、;；\n]+", raw) if t.strip()]
    return _json(raw)


def _json(raw: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(_("not valid JSON (%(reason)s)") % {"reason": e.msg}) from None


def same(a: Any, b: Any) -> bool:
    """Do two document values mean the same (``"0.7"`` and ``"0.70"``, ``50000`` and ``"50000.00"``)?"""
    if a is None or b is None:
        return a is b
    if isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        da, db = _dec(a), _dec(b)
        if da is not None and db is not None:
            return da == db
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def show_change_value(value: Any, path: str) -> str:
    """A value recorded in the change history, shown as the parameter shows it."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
        return datetime.date.fromisoformat(value).isoformat()
    if path and kind_of(path) != "json":
        return show(value, kind_of(path))
    if value is None:
        return _("unset")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
