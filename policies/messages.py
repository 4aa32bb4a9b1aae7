"""The engine's problems in the reader's language.

The engine refuses with structured problems (``policies.engine.Problem``: ``code``, ``params``,
``path``; every code in ``policies.engine.codes``). :func:`render` turns one into a sentence from its
code and params alone: one template per code (``TEMPLATES``, English msgids, Chinese in
``locale/policies``), with the field or parameter named in Chinese words (:func:`path_label`:
``assistance.routes[2].ratio`` → 医疗救助 第3条救助路径 的 救助比例), never the raw path or the
engine's English sentence (``Problem.text``, kept for logs; English readers get it as it is).

A policy document's own mistakes (``schema.document_problems``: the import, the editor, the policy
pages) are problems too (``document.*`` codes), named by the editor's words for the parameter and,
inside a value, for the part (第2段 的 比例), never by the JSON path.
"""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from portal.regions.names import region_name, with_region_name

from .display import LEVEL_NAMES, LIST_NAMES, LOCATION_NAMES, RESIDENCE_NAMES, SCHEME_NAMES
from .engine.codes import Code
from .engine.constants import CATEGORY_NAMES, KIND_NAMES, STATISTIC_NAMES
from .engine.errors import as_problem

INPUT_FIELDS = {
    "region": gettext_lazy("region"),
    "person": gettext_lazy("person"),
    "residence": gettext_lazy("residence"),
    "scheme": gettext_lazy("insurance scheme"),
    "identities": gettext_lazy("identity"),
    "category": gettext_lazy("category"),
    "start": gettext_lazy("start"),
    "end": gettext_lazy("end"),
    "statistics": gettext_lazy("statistics"),
    "tilted_applied": gettext_lazy("applied for tilted assistance"),
    "claims": gettext_lazy("claim"),
    "id": gettext_lazy("claim number"),
    "date": gettext_lazy("settlement date"),
    "kind": gettext_lazy("claim kind"),
    "special_disease": gettext_lazy("special disease"),
    "hospital_level": gettext_lazy("hospital level"),
    "location": gettext_lazy("place of treatment"),
    "referral_compliant": gettext_lazy("properly referred"),
    "total": gettext_lazy("total cost"),
    "policy_scope": gettext_lazy("cost within policy scope"),
    "basic_paid": gettext_lazy("paid by basic insurance"),
    "critical_paid": gettext_lazy("paid by critical-illness insurance"),
    "in_force_from": gettext_lazy("in force from"),
    "in_force_to": gettext_lazy("in force until"),
    "retroactive_from": gettext_lazy("retroactive from"),
    "document": gettext_lazy("document number"),
    "title": gettext_lazy("title"),
}

# =============================================================================================
# Problems with codes: one template per code
# =============================================================================================

# The Chinese of a claim's or a person's fields (settlement input); params name them by key.
_ENTRY_NAMES = LIST_NAMES
_INPUT_CHOICES = {
    "kind": KIND_NAMES,
    "hospital_level": LEVEL_NAMES,
    "location": LOCATION_NAMES,
    "residence": RESIDENCE_NAMES,
    "scheme": SCHEME_NAMES,
}

TEMPLATES: dict[str, str] = {
    # --- the settlement input ---
    Code.INPUT_NOT_OBJECT: gettext_lazy("%(field)s: must be a group of fields"),
    Code.INPUT_NOT_LIST: gettext_lazy("%(field)s: must be a list"),
    Code.INPUT_REQUIRED: gettext_lazy("%(field)s: must be filled in"),
    Code.INPUT_UNKNOWN_FIELD: gettext_lazy("%(field)s: the settlement input has no such item"),
    Code.INPUT_NOT_DATE: gettext_lazy("%(field)s: not a date (write it like 2023-05-01)"),
    Code.INPUT_NOT_MONEY: gettext_lazy("%(field)s: not an amount of money (write it like 1200.00)"),
    Code.INPUT_NEGATIVE: gettext_lazy("%(field)s: must not be negative"),
    Code.INPUT_TOO_MANY_DECIMALS: gettext_lazy("%(field)s: at most %(places)s decimals"),
    Code.INPUT_NOT_BOOL: gettext_lazy("%(field)s: must be yes or no"),
    Code.INPUT_UNKNOWN_VALUE: gettext_lazy("%(field)s: “%(value)s” is not one of the choices (%(choices)s)"),
    Code.INPUT_UNKNOWN_CATEGORY: gettext_lazy(
        "%(field)s: “%(value)s” is neither a national assistance category nor a category of %(region)s's policy"),
    Code.INPUT_NOT_REGION: gettext_lazy("%(field)s: “%(value)s” is not a six-digit region code"),
    Code.INPUT_END_BEFORE_START: gettext_lazy("%(field)s: %(end)s is before the start date %(start)s"),
    Code.INPUT_DUPLICATE_ID: gettext_lazy("%(field)s: number %(id)s is also the number of claim %(other)s"),
    Code.INPUT_SCOPE_ABOVE_TOTAL: gettext_lazy("%(field)s: %(amount)s yuan is more than the total cost %(total)s yuan"),
    Code.INPUT_PAID_ABOVE_SCOPE: gettext_lazy(
        "%(field)s: %(amount)s yuan is more than the cost within the policy scope %(scope)s yuan"),
    Code.INPUT_PAID_SUM_ABOVE_SCOPE: gettext_lazy(
        "%(field)s: basic and critical-illness insurance together pay %(amount)s yuan%(computed)s, more than the "
        "cost within the policy scope %(scope)s yuan"),
    Code.INPUT_NOT_STATISTIC: gettext_lazy("%(field)s: “%(value)s” is not the code of a statistic"),
    Code.INPUT_NOT_YEAR: gettext_lazy("%(field)s: “%(value)s” is not a year (write four digits, like 2023)"),
    Code.BASIC_PAID_NEEDED: gettext_lazy(
        "%(claim)s: %(policy)s has no basic-insurance rule for this claim (%(what)s), so the basic insurance "
        "payment cannot be calculated — enter 基本医保支付 from the hospital's settlement statement"),
    Code.CRITICAL_PAID_NEEDED: gettext_lazy(
        "%(claim)s: %(policy)s has no critical-illness insurance rule%(scheme)s, so the critical-illness payment "
        "cannot be calculated — enter 大病保险支付 from the hospital's settlement statement"),
    # --- the policy ---
    Code.NO_POLICY: gettext_lazy(
        "%(region)s: no published policy version settles the claims of this region or of a region above it — a "
        "policy administrator must publish one"),
    Code.NO_VERSION: gettext_lazy(
        "%(claim)s: no policy version of %(region)s is in force on that day — a policy administrator must publish "
        "one that covers that date"),
    Code.UNSET: gettext_lazy(
        "%(policy)s: %(param)s%(who)s%(level)s (%(clause)s) is not set%(among)s — a policy administrator must set "
        "it before this can be calculated"),
    Code.CATEGORY_UNSET: gettext_lazy(
        "%(policy)s: the document leaves the assistance of %(category)s to another rule (%(clause)s) — it cannot "
        "be calculated until a policy administrator sets it"),
    Code.PRECEDENCE_UNRANKED: gettext_lazy(
        "%(policy)s: the order of precedence of the categories does not rank %(categories)s, so the portal cannot "
        "choose between %(among)s — a policy administrator must rank it"),
    Code.STATISTIC_MISSING: gettext_lazy(
        "%(policy)s: the statistic “%(statistic)s” of %(region)s for %(years)s is missing; %(param)s (%(clause)s) "
        "of %(year)s claims needs it — a policy administrator must enter it on the statistics page"),
    Code.ANNOUNCED_MISSING: gettext_lazy(
        "%(policy)s: the amount “%(name)s” that %(region)s announces for %(year)s is not entered; %(param)s "
        "(%(clause)s) needs it — a policy administrator must enter it once it is announced, it is never computed"),
    Code.RATIO_BELOW_FLOOR: gettext_lazy(
        "%(policy)s: the assistance ratio %(ratio)s of %(route)s is below the floor %(floor)s the document sets "
        "(%(clause)s) — the settlement is refused until a policy administrator corrects it"),
    Code.INVALID_DOCUMENT: gettext_lazy(
        "%(policy)s: the policy document has mistakes and cannot be used — a policy administrator must correct "
        "it%(detail)s"),
    Code.UNKNOWN_REGION: gettext_lazy("%(region)s is not a region the portal knows"),
    Code.VERSION_NOT_FOUND: gettext_lazy("There is no policy version number %(version)s"),
    Code.VERSION_NOT_APPLICABLE: gettext_lazy(
        "%(document)s is a policy of %(version_region)s and does not settle the claims of %(region)s"),
    Code.PERIODS_CONFLICT: gettext_lazy("%(document)s: %(message)s"),
    # --- a policy document's own mistakes ---
    Code.DOC_NOT_OBJECT: gettext_lazy("%(field)s: must be a group of entries"),
    Code.DOC_UNKNOWN_FIELD: gettext_lazy("“%(key)s”: a policy document has no such item"),
    Code.DOC_NOT_REGION: gettext_lazy("%(field)s: “%(value)s” is not a six-digit region code%(of_inherited)s"),
    Code.DOC_REQUIRED: gettext_lazy("%(field)s: must be filled in"),
    Code.DOC_NOT_BOOL: gettext_lazy("%(field)s: must be yes or no"),
    Code.DOC_NOT_DATE: gettext_lazy("%(field)s: not a date (write it like 2023-05-01)"),
    Code.DOC_END_BEFORE_START: gettext_lazy("%(field)s: %(end)s is before the in-force date %(start)s"),
    Code.DOC_RETRO_AFTER_START: gettext_lazy("%(field)s: %(retroactive)s is after the in-force date %(start)s"),
    Code.DOC_NOT_PARAMETER: gettext_lazy("%(field)s: must be a parameter, with its value and its clause"),
    Code.DOC_PARAMETER_KEY: gettext_lazy(
        "%(field)s: a parameter holds its value, clause and note only, not “%(key)s”"),
    Code.DOC_NOT_TEXT: gettext_lazy("%(field)s: must be text"),
    Code.DOC_NOT_LIST: gettext_lazy("%(field)s: must be a list"),
    Code.DOC_UNKNOWN_PARAMETER: gettext_lazy("%(field)s: the policy model has no such parameter"),
    Code.DOC_MISSING: gettext_lazy(
        "%(field)s: missing — enter it, or mark it unset where the document leaves it to someone else"),
    Code.DOC_NOT_NUMBER: gettext_lazy("%(field)s: must be %(what)s%(or_none)s"),
    Code.DOC_BELOW_MIN: gettext_lazy("%(field)s: must not be below %(lo)s%(or_none)s"),
    Code.DOC_OUT_OF_RANGE: gettext_lazy("%(field)s: must be between %(lo)s and %(hi)s"),
    Code.DOC_TOO_MANY_DECIMALS: gettext_lazy("%(field)s: at most %(places)s decimals%(or_none)s"),
    Code.DOC_NOT_QUANTITY: gettext_lazy(
        "%(field)s: must be none, an amount, a share of a statistic, an amount per hospital level or an amount "
        "the bureau announces"),
    Code.DOC_BAD_SHAPE: gettext_lazy("%(field)s: must be %(shape)s"),
    Code.DOC_NOT_LEVEL: gettext_lazy("%(field)s: “%(value)s” is not a hospital level (1, 2 or 3)%(or_none)s"),
    Code.DOC_NOT_LOCATION: gettext_lazy("%(field)s: “%(value)s” is not a place of treatment (%(choices)s)"),
    Code.DOC_UNKNOWN_KEY: gettext_lazy("%(field)s: “%(key)s” does not belong here; it must be %(shape)s"),
    Code.DOC_NOT_CODE: gettext_lazy("%(field)s: “%(value)s” is not %(what)s"),
    Code.DOC_NOT_INT: gettext_lazy("%(field)s: must be a whole number"),
    Code.DOC_NOT_CHOICE: gettext_lazy("%(field)s: “%(value)s” is not one of the choices (%(choices)s)"),
    Code.DOC_UNKNOWN_ENTRY: gettext_lazy("%(field)s: “%(value)s” is not %(what)s"),
    Code.DOC_DUPLICATE_ENTRY: gettext_lazy("%(field)s: lists an entry twice"),
    Code.DOC_EMPTY: gettext_lazy("%(field)s: must not be empty"),
    Code.DOC_NOT_YEAR: gettext_lazy("%(field)s: “%(value)s” is not a year (write four digits, like 2023)"),
    Code.DOC_NOT_INCREASING: gettext_lazy("%(field)s: each entry must be larger than the one before"),
    Code.DOC_UNBOUNDED_NOT_LAST: gettext_lazy("%(field)s: only the last segment may have no upper bound"),
    Code.DOC_NATIONAL_CATEGORY: gettext_lazy(
        "%(field)s: %(value)s is already a national category; use it without defining it"),
    Code.DOC_DEFINED_TWICE: gettext_lazy("%(field)s: the category %(value)s is defined twice"),
    Code.DOC_UNKNOWN_CATEGORY: gettext_lazy(
        "%(field)s: “%(value)s” is neither a national category nor one of this document's own categories"),
    Code.DOC_NOT_RECIPIENT: gettext_lazy("%(field)s: %(category)s is not one of the recipient categories"),
    Code.DOC_BELOW_FLOOR: gettext_lazy("%(field)s: %(value)s is below the floor %(floor)s the document sets (%(clause)s)"),
    Code.DOC_RATIO_MISSING: gettext_lazy(
        "%(field)s: missing — give the assistance ratio or segmented ratios (or mark it unset where the document "
        "leaves it to someone else)"),
    Code.DOC_RATIO_AND_SEGMENTS: gettext_lazy(
        "%(field)s: a route has either one assistance ratio or segmented ratios, not both"),
    Code.DOC_ABOVE_ONE_WITH_INCREASE: gettext_lazy("%(field)s: a segment's ratio plus the increase is above 100%%"),
    Code.DOC_ENTRY_NEEDS_NAME: gettext_lazy("%(field)s: every entry needs a code"),
    # --- a document against its province framework ---
    Code.FRAMEWORK_NO_DEDUCTIBLE: gettext_lazy(
        "%(in_policy)s%(param)s: under %(framework)s %(clause)s, %(categories)s have no assistance deductible"),
    Code.FRAMEWORK_SHARED_CAP: gettext_lazy(
        "%(in_policy)s%(param)s: under %(framework)s %(clause)s, outpatient and inpatient assistance share one "
        "annual cap, but %(category)s has a different %(what)s in route %(first)s and route %(other)s"),
    Code.FRAMEWORK_RATIO_FLOOR: gettext_lazy(
        "%(in_policy)s%(param)s: under %(framework)s %(clause)s, %(categories)s must be assisted at no less than "
        "%(floor)s (the ratio is %(ratio)s)"),
    Code.FRAMEWORK_PREFERENTIAL: gettext_lazy(
        "%(in_policy)s%(param)s: under %(framework)s %(clause)s, %(categories)s must receive the critical-illness "
        "insurance preferential treatment"),
    # --- a case ---
    Code.CASE_NO_CLAIMS: gettext_lazy("The person has no claims in %(year)s."),
    Code.CASE_PERSON_UNVERIFIED: gettext_lazy(
        "The person's %(details)s is still to be verified (a department's push registered the person without it), "
        "and this case's settlement depends on it. A caseworker verifies it with the medical insurance bureau or the "
        "department that pushed the person and enters it on the person's page; the case is then settled."),
    Code.CASE_TOO_LARGE: gettext_lazy(
        "The costs of the year add up to more than the largest amount the portal can record "
        "(999,999,999,999.99 yuan), so they cannot be settled; check whether a claim's amounts were mistyped."),
    Code.LEGACY: gettext_lazy(
        "The calculation was refused; its reason was recorded in an older form that cannot be shown — "
        "calculate again to see it"),
}

# Words of a policy document's problems (document.* codes).
_OR_NONE = gettext_lazy(", or none")
_OF_INHERITED = gettext_lazy(" (the region whose version this one inherits)")
_NUMBER_WHAT = {
    "ratio": gettext_lazy("a ratio such as 0.75"),
    "fraction": gettext_lazy("a fraction such as 0.10"),
    "amount": gettext_lazy("an amount of money such as 2700.00"),
    "ratio_or_amount": gettext_lazy("a ratio or an amount"),
}
_CODE_WHAT = {
    "statistic": gettext_lazy("the code of a statistic"),
    "announced": gettext_lazy("the code of an amount the bureau announces"),
    "name": gettext_lazy("a code of lower-case letters, digits and underscores"),
    "category": gettext_lazy("a code of lower-case letters, digits and underscores"),
}
_ENTRY_WHAT = {
    "categories": gettext_lazy("an assistance category"),
    "claim kinds": gettext_lazy("a claim kind"),
    "schemes": gettext_lazy("an insurance scheme"),
    "residences": gettext_lazy("a residence"),
    "hospital levels": gettext_lazy("a hospital level"),
    "locations": gettext_lazy("a place of treatment"),
}
_SHAPES = {
    "by_level": gettext_lazy("an amount for each hospital level"),
    "fraction": gettext_lazy("a share of a statistic: its fraction and the statistic"),
    "adjustments": gettext_lazy("a list of adjustments, each for a hospital level or a place of treatment"),
    "adjustment": gettext_lazy("an adjustment for a hospital level or a place of treatment, with the points added"),
    "floors": gettext_lazy("a list of floors, each with its categories and lowest ratio"),
    "floor": gettext_lazy("a floor: its categories and lowest ratio"),
    "names": gettext_lazy("a list of names"),
    "year_amounts": gettext_lazy("an amount for each year"),
    "years_back": gettext_lazy("the years back to try, each from 1 to 5"),
    "segments": gettext_lazy("a list of segments, each with its upper bound and ratio"),
    "segment": gettext_lazy("a segment: its upper bound (none for the last) and its ratio"),
    "value": gettext_lazy("a value of the kind this parameter holds"),
}
_STEPS = {
    "segment": gettext_lazy("segment %(n)s"),
    "adjustment": gettext_lazy("adjustment %(n)s"),
    "floor": gettext_lazy("floor %(n)s"),
}
_PARTS = {
    "ratio": gettext_lazy("ratio"),
    "up_to": gettext_lazy("upper bound"),
    "add": gettext_lazy("points added"),
    "fraction": gettext_lazy("fraction"),
    "categories": gettext_lazy("categories"),
    "min": gettext_lazy("lowest ratio"),
}


def _within(steps) -> str:
    """Where inside a value (``[["segment", 1], ["part", "ratio"]]``) in words: 第 2 段 的 比例."""
    words = []
    for step in steps or ():
        kind, key = (list(step) + [None, None])[:2]
        if kind in _STEPS:
            words.append(str(_STEPS[kind]) % {"n": int(key or 0) + 1})
        elif kind == "part":
            words.append(str(_PARTS.get(key, key)))
        elif kind == "level":
            words.append(_("%(level)s hospitals") % {"level": LEVEL_NAMES.get(key, key)})
        elif kind == "year":
            words.append(_("year %(year)s") % {"year": key})
    return " 的 ".join(words)


def _within_path(steps) -> str:
    """Where inside a value as a path: ``[["segment", 1], ["part", "ratio"]]`` → ``[1].ratio``."""
    out = ""
    for step in steps or ():
        kind, key = (list(step) + [None, None])[:2]
        if kind in _STEPS:
            out += f"[{key}]"
        elif kind == "level":
            out += f".by_level.{key}"
        else:
            out += f".{key}"
    return out


def _document_params(problem, p: dict, out: dict) -> None:
    """The words of a policy document's problem (document.* codes)."""
    code = problem.code
    if not problem.path:
        out["field"] = _("the policy document")
    inside = _within(p.get("within"))
    if inside:
        out["field"] = f"{out['field']} 的 {inside}"
    out["or_none"] = _OR_NONE if p.get("or_none") else ""
    if code == Code.DOC_NOT_REGION:
        out["of_inherited"] = _OF_INHERITED if p.get("inherits") else ""
    if code == Code.DOC_NOT_NUMBER:
        out["what"] = _NUMBER_WHAT.get(p.get("what"), _NUMBER_WHAT["ratio_or_amount"])
    if code == Code.DOC_NOT_CODE:
        out["what"] = _CODE_WHAT.get(p.get("what"), _CODE_WHAT["name"])
    if code == Code.DOC_UNKNOWN_ENTRY:
        out["what"] = _ENTRY_WHAT.get(p.get("what"), _("one of the choices"))
        names = _ENTRY_NAMES.get(p.get("what"), {})
        value = p.get("value")
        out["value"] = names.get(value) or (names.get(int(value)) if str(value).isdigit() else None) or value
    if code in (Code.DOC_BAD_SHAPE, Code.DOC_UNKNOWN_KEY):
        out["shape"] = _SHAPES.get(p.get("shape"), _SHAPES["value"])
    if code == Code.DOC_NOT_CHOICE:
        from .display import ENUM_NAMES

        out["choices"] = _list(p.get("choices"), ENUM_NAMES)
        out["value"] = ENUM_NAMES.get(p.get("value"), p.get("value"))
    if code == Code.DOC_NOT_LOCATION:
        out["choices"] = _list(tuple(LOCATION_NAMES), LOCATION_NAMES)
    if code == Code.DOC_NATIONAL_CATEGORY:
        out["value"] = _category(p.get("value"))
    if code == Code.DOC_DEFINED_TWICE:
        out["value"] = p.get("label") or p.get("value")
    if code == Code.DOC_BELOW_FLOOR and p.get("what") == "ratio":
        out["value"], out["floor"] = _percent(p.get("value")), _percent(p.get("floor"))


_WHO = gettext_lazy(" for %(category)s")
_AT_LEVEL = gettext_lazy(" at %(level)s hospitals")
_AMONG = gettext_lazy(" (it decides between %(categories)s)")
_COMPUTED = gettext_lazy(" (with the amounts the policy computes)")
_FOR_SCHEME = gettext_lazy(" for %(scheme)s")
_DETAIL = gettext_lazy(": %(problem)s")
_IN_POLICY = gettext_lazy("%(policy)s does not follow its province framework: ")
_NO_CLAUSE = "—"


def _list(codes, names: dict | None = None) -> str:
    return "、".join(str((names or {}).get(c, c)) for c in (codes or ()))


def _category(code) -> str:
    return CATEGORY_NAMES.get(code, str(code)) if code else ""


def _percent(value) -> str:
    from .display import percent

    return percent(value)


def _claim_label(path: str | None, params: dict) -> str:
    """``claims[2]…`` → 第3笔费用（2023-05-01）."""
    m = re.match(r"claims\[(\d+)\]", path or "")
    label = _("claim %(n)s") % {"n": int(m.group(1)) + 1} if m else _("the claim")
    if params.get("date"):
        label = f"{label}（{params['date']}）"
    return label


def _schema_words(path: str) -> str | None:
    """A policy parameter path in Chinese words along the schema: ``assistance.routes[2].ratio`` →
    医疗救助 第3条救助路径 的 救助比例; None when the path is not the schema's."""
    from .engine import schema

    spec, words = schema.SCHEMA, []
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    if not tokens:
        return None
    for pos, token in enumerate(tokens):
        rest = tokens[pos + 1:]
        if token.startswith("["):
            if not isinstance(spec, schema.ListOf):
                return None
            words.append(_("no. %(n)s %(what)s") % {"n": int(token[1:-1]) + 1, "what": spec.zh})
            spec = spec.item
            continue
        if isinstance(spec, schema.Group) and token in spec.children:
            spec = spec.children[token]
            if isinstance(spec, schema.Leaf):
                text = (" ".join(words) + " 的 " + spec.zh) if words else spec.zh
                if rest and rest[0] in _LEAF_PARTS and len(rest) == 1:
                    return f"{text} 的 {_LEAF_PARTS[rest[0]]}"
                return None if rest else text
            if isinstance(spec, schema.Group):
                words.append(spec.zh)
            elif isinstance(spec, schema.ListOf) and not (rest and rest[0].startswith("[")):
                words.append(spec.zh)
            continue
        if isinstance(spec, schema.Group) and token in spec.strings and not rest:
            part = pgettext("of a list entry", "code") if token == "name" else pgettext("of a list entry", "name")
            return " 的 ".join((" ".join(words), str(part))) if words else str(part)
        return None
    return " ".join(words) or None


#: The parts of a parameter other than its value.
_LEAF_PARTS = {"clause": gettext_lazy("clause"), "note": gettext_lazy("note")}

#: A policy document's own fields (outside its parameters).
DOCUMENT_FIELDS = {
    "region": gettext_lazy("region"),
    "document": gettext_lazy("document number"),
    "title": gettext_lazy("title"),
    "framework": gettext_lazy("province framework"),
    "in_force_from": gettext_lazy("in force from"),
    "in_force_to": gettext_lazy("in force until"),
    "retroactive_from": gettext_lazy("retroactive from"),
    "issued": gettext_lazy("issued on"),
    "note": gettext_lazy("note"),
    "inherits": gettext_lazy("inherits the version of"),
    "parameters": gettext_lazy("parameters"),
}


def input_label(path: str) -> str:
    """A settlement-input field path in Chinese words: ``claims[0].basic_paid`` → 第1笔费用的基本医保支付."""
    m = re.fullmatch(r"claims\[(\d+)\](?:\.(\w+))?", path)
    if m:
        base = _("claim %(n)s") % {"n": int(m.group(1)) + 1}
        return _("%(whole)s: %(part)s") % {"whole": base, "part": _input_field(m.group(2))} if m.group(2) else base
    m = re.fullmatch(r"person\.identities\[(\d+)\](?:\.(\w+))?", path)
    if m:
        base = _("identity %(n)s") % {"n": int(m.group(1)) + 1}
        return _("%(whole)s: %(part)s") % {"whole": base, "part": _input_field(m.group(2))} if m.group(2) else base
    m = re.fullmatch(r"statistics(?:\.([^.]+))?(?:\.(.+))?", path)
    if m:
        if not m.group(1):
            return str(INPUT_FIELDS["statistics"])
        name = STATISTIC_NAMES.get(m.group(1), f"“{m.group(1)}”")
        return f"{name} {m.group(2)}" if m.group(2) else name
    head, _dot, rest = path.partition(".")
    if head == "person" and rest:
        return _input_field(rest)
    return _input_field(path)


def _input_field(key: str) -> str:
    if key in INPUT_FIELDS:
        return str(INPUT_FIELDS[key])
    return _("item “%(key)s”") % {"key": key}


def path_label(path: str | None, *, policy: bool = True) -> str:
    """The Chinese words for a problem's ``path``: a policy parameter (``policy``) or an input field."""
    if not path:
        return ""
    if policy:
        if path in DOCUMENT_FIELDS:
            return str(DOCUMENT_FIELDS[path])
        words = _schema_words(path)
        if words:
            return words
        parent, _dot, leaf = path.rpartition(".")
        above = _schema_words(parent) if parent else None
        key = _("parameter “%(key)s”") % {"key": leaf}
        return f"{above} 的 {key}" if above else key
    return input_label(path)


_UNVERIFIED_DETAILS = {"residence": gettext_lazy("residence (rural or urban)"),
                       "scheme": gettext_lazy("insurance scheme (resident or employee)")}


def _params(problem) -> dict:
    """The template's values: the problem's params, in words."""
    code, p, path = problem.code, dict(problem.params or {}), problem.path
    policy_path = not str(code).startswith("input.")
    out: dict = {k: ("" if v is None else v) for k, v in p.items()}
    out["field"] = path_label(path, policy=policy_path) if path else _("the settlement input")
    out["param"] = path_label(path) if path else ""
    out["clause"] = p.get("clause") or _NO_CLAUSE
    out["policy"] = with_region_name(p.get("policy"))
    out["in_policy"] = _IN_POLICY % {"policy": out["policy"]} if p.get("policy") else ""
    for key in ("region", "version_region"):
        if p.get(key) and code not in (Code.UNKNOWN_REGION, Code.INPUT_NOT_REGION):
            out[key] = region_name(p[key])
    out["category"] = _category(p.get("category"))
    out["who"] = _WHO % {"category": out["category"]} if p.get("category") else ""
    out["level"] = _AT_LEVEL % {"level": LEVEL_NAMES.get(p.get("level"), p.get("level"))} if p.get("level") else ""
    out["among"] = _AMONG % {"categories": _list(p.get("among"), CATEGORY_NAMES)} if p.get("among") else ""
    if code == Code.PRECEDENCE_UNRANKED:
        out["categories"] = _list(p.get("categories"), CATEGORY_NAMES)
        out["among"] = _list(p.get("among"), CATEGORY_NAMES)
    elif "categories" in p:
        out["categories"] = _list(p.get("categories"), CATEGORY_NAMES)
    if code in (Code.BASIC_PAID_NEEDED, Code.CRITICAL_PAID_NEEDED, Code.NO_VERSION):
        out["claim"] = _claim_label(path, p)
    if code == Code.BASIC_PAID_NEEDED:
        out["what"] = "，".join(x for x in (SCHEME_NAMES.get(p.get("scheme"), ""), KIND_NAMES.get(p.get("kind"), ""),
                                           LEVEL_NAMES.get(p.get("level"), "") and
                                           _("%(level)s hospital") % {"level": LEVEL_NAMES[p["level"]]}) if x)
    if code == Code.CRITICAL_PAID_NEEDED:
        out["scheme"] = _FOR_SCHEME % {"scheme": SCHEME_NAMES.get(p["scheme"], p["scheme"])} if p.get("scheme") else ""
    if code == Code.INPUT_UNKNOWN_VALUE:
        names = _INPUT_CHOICES.get(p.get("field"), {})
        out["choices"] = _list(p.get("choices"), names)
    if code == Code.INPUT_UNKNOWN_CATEGORY:
        out["region"] = region_name(p["region"]) if p.get("region") else _("the region")
    if code == Code.INPUT_DUPLICATE_ID:
        out["other"] = int(p.get("other") or 0) + 1
    if code == Code.INPUT_PAID_SUM_ABOVE_SCOPE:
        out["computed"] = _COMPUTED if p.get("computed") else ""
    if code == Code.STATISTIC_MISSING:
        out["statistic"] = STATISTIC_NAMES.get(p.get("statistic"), p.get("statistic") or "")
        out["years"] = "、".join(str(y) for y in p.get("years") or ())
    if code == Code.ANNOUNCED_MISSING:
        from .display import figure_name

        out["name"] = figure_name(p.get("name") or "")
    if code == Code.RATIO_BELOW_FLOOR:
        out["route"] = path_label(p.get("route")) if p.get("route") else ""
        out["ratio"], out["floor"] = _percent(p.get("ratio")), _percent(p.get("floor"))
    if code == Code.FRAMEWORK_RATIO_FLOOR:
        out["ratio"], out["floor"] = _percent(p.get("ratio")), _percent(p.get("floor"))
    if code == Code.FRAMEWORK_SHARED_CAP:
        out["what"] = _("pool") if p.get("what") == "pool" else _("cap")
        out["first"], out["other"] = int(p.get("first") or 0) + 1, int(p.get("other") or 0) + 1
    if str(code).startswith("document."):
        _document_params(problem, p, out)
    if code == Code.CASE_PERSON_UNVERIFIED:
        out["details"] = "、".join(str(_UNVERIFIED_DETAILS.get(d, d)) for d in p.get("details") or ())
    if code == Code.INVALID_DOCUMENT:
        inner = p.get("problem")
        out["detail"] = _DETAIL % {"problem": render(inner)} if isinstance(inner, dict) else ""
    return out


def render(problem, *, language: str | None = None, field_first: bool = False) -> str:
    """The one renderer of the engine's problems (``policies.engine.Problem``, its stored dict, or a
    sentence stored before problems had codes) in the reader's language: Chinese (the default)
    from the code's template and the params, or English (``language="en"``: the engine's own
    sentence, which names the field by path first, as settlement.md asks of ``manage.py settle``).
    With ``field_first`` (``manage.py settle``) a problem of an input field names the field by its
    path first, as settlement.md shows: ``claims[0].policy_scope: <Chinese reason>``."""
    from django.utils import translation

    problem = as_problem(problem)
    language = language or translation.get_language() or "zh-hans"
    if language.lower().startswith("en") and problem.text:
        return problem.text
    with translation.override(language):
        template = TEMPLATES.get(problem.code)
        if template is None or (problem.code == Code.LEGACY and problem.text and _CJK.search(problem.text)):
            # A sentence stored before problems had codes: the Chinese ones are shown as they are.
            return problem.text if problem.text and _CJK.search(problem.text) else str(TEMPLATES[Code.LEGACY])
        words = _Words(_params(problem))
        if field_first and problem.path and "%(field)s" in str(template):
            # manage.py settle and import_policy: the field by its path first, as settlement.md shows
            # (``claims[0].policy_scope: 48000.00 元超过了医疗总费用 45000.00 元``;
            # ``assistance.routes[3].segments[1].ratio: 应在 0 至 1 之间``).
            path = problem.path + _within_path((problem.params or {}).get("within"))
            words["field"] = path
            text = str(template) % words
            return text.replace(f"{path}：", f"{path}: ", 1)
        return str(template) % words


_CJK = re.compile(r"[\u4e00-\u9fff]")


class _Words(dict):
    """A template's values; a param a stored problem lacks reads as a dash, never a KeyError."""

    def __missing__(self, key):
        return _NO_CLAUSE
