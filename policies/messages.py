"""The engine's problems in the reader's language.

The engine refuses with structured problems (``policies.engine.Problem``: ``code``, ``params``,
``path``; every code in ``policies.engine.codes``). :func:`render` turns one into a sentence from its
code and params alone: one template per code (``TEMPLATES``, English msgids, Chinese in
``locale/policies``), with the field or parameter named in Chinese words (:func:`path_label`:
``assistance.routes[2].ratio`` → 医疗救助 第3条救助路径 的 救助比例), never the raw path or the
engine's English sentence (``Problem.text``, kept for logs; English readers get it as it is).

:func:`explain` is older: it words the English sentences of a policy *document's* validation
(``validate_document``), which do not carry codes yet.
"""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.regions.names import region_name, with_region_name

from .display import LEVEL_NAMES, LOCATION_NAMES, RESIDENCE_NAMES, SCHEME_NAMES
from .engine import parameter_leaves
from .engine.codes import Code
from .engine.constants import CATEGORY_NAMES, KIND_NAMES, STATISTIC_NAMES
from .engine.errors import as_problem

_PATH_RE = re.compile(r"^([A-Za-z_][\w]*(?:\[\d+\])?(?:\.[A-Za-z_][\w]*(?:\[\d+\])?)*)(?:\.(\d{4}))?: (.*)$", re.S)
_LABEL_RE = re.compile(r"^(\d{6} [^:]+?): (.*)$", re.S)

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

# (engine reason, Chinese-ready msgid). Groups are passed to the msgid by name.
REASONS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(?P<p>[\d.]+) exceeds total (?P<t>[\d.]+)$"),
     gettext_lazy("%(p)s exceeds the total cost %(t)s")),
    (re.compile(r"^(?P<v>[\d.]+) exceeds policy_scope (?P<p>[\d.]+)$"),
     gettext_lazy("%(v)s exceeds the cost within policy scope %(p)s")),
    (re.compile(r"^basic_paid \+ critical_paid \((?P<v>[\d.]+)\) exceeds policy_scope (?P<p>[\d.]+)(?P<rest>.*)$"),
     gettext_lazy("basic plus critical-illness insurance (%(v)s) exceeds the cost within policy scope %(p)s")),
    (re.compile(r"^required.*$"), gettext_lazy("required")),
    (re.compile(r"^not a date.*$"), gettext_lazy("not a date (write YYYY-MM-DD)")),
    (re.compile(r"^not a money amount.*$"), gettext_lazy("not a money amount (write e.g. 1200.00)")),
    (re.compile(r"^must not be negative$"), gettext_lazy("must not be negative")),
    (re.compile(r"^at most (?P<n>\d+) decimals$"), gettext_lazy("at most %(n)s decimals")),
    (re.compile(r"^at most two decimals$"), gettext_lazy("at most 2 decimals")),
    (re.compile(r"^unknown field$"), gettext_lazy("unknown field")),
    (re.compile(r"^must be true or false$"), gettext_lazy("must be yes or no")),
    (re.compile(r"^must be an object.*$"), gettext_lazy("must be an object")),
    (re.compile(r"^must be a list.*$"), gettext_lazy("must be a list")),
    (re.compile(r"^duplicate id (?P<id>.+?) \(also (?P<other>.+)\)$"), gettext_lazy("duplicate claim number %(id)s (also %(other)s)")),
    # a draft's own rules (the policy editor shows these beside the parameter, and when publishing)
    (re.compile(r"^(?P<fw>\S+) (?P<clause>\S+): (?P<cats>.+) must be assisted at no less than (?P<pct_lo>\S+) "
                r"\(the ratio is (?P<pct_got>\S+)\)$"),
     gettext_lazy("%(fw)s %(clause)s: the assistance ratio of %(cats)s must be no less than %(pct_lo)s (it is %(pct_got)s)")),
    (re.compile(r"^a route has either a ratio or segments, not both$"),
     gettext_lazy("a route has either one assistance ratio or segmented ratios, not both")),
    (re.compile(r"^missing \(a ratio, or segments.*$"),
     gettext_lazy("missing: give the assistance ratio or segmented ratios (unset when the document leaves it open)")),
    (re.compile(r"^segment (?P<i>\d+) ratio (?P<pct_v>\S+) is below the (?:ratio )?floor (?P<pct_lo>\S+)(?: \((?P<clause>.+)\))?$"),
     gettext_lazy("a segment's ratio %(pct_v)s is below the floor %(pct_lo)s")),
    (re.compile(r"^a segment ratio plus the increase exceeds 1$"),
     gettext_lazy("a segment's ratio plus the increase is above 100%")),
    (re.compile(r"^every entry needs a \"name\"$"), gettext_lazy("every entry needs a code")),
    (re.compile(r"^unknown category '(?P<v>[^']*)' \(not national, and not one of categories\.regional\)$"),
     gettext_lazy("unknown category %(v)s: neither a national category nor one of this document's own categories")),
    (re.compile(r"^(?P<v>\S+) is already a national category$"), gettext_lazy("%(v)s is already a national category")),
    (re.compile(r"^(?P<v>\S+) is defined twice$"), gettext_lazy("%(v)s is defined twice")),
    (re.compile(r"^must be a lower-case code such as (?P<eg>\w+)$"),
     gettext_lazy("must be a code of lower-case letters, digits and _, e.g. %(eg)s")),
    (re.compile(r"^unknown category (?P<v>'[^']*') \(neither national nor a category of region (?P<r>\d{6})'s policy\)$"),
     gettext_lazy("unknown category %(v)s (neither a national category nor one of region %(r)s's policy)")),
    (re.compile(r"^unknown [\w ]+? (?P<v>'[^']*'|\S+) \(expected one of (?P<c>.+)\)$"),
     gettext_lazy("unknown value %(v)s (one of %(c)s)")),
    (re.compile(r"^(?P<end>\S+) is before start (?P<start>\S+)$"), gettext_lazy("%(end)s is before the start %(start)s")),
    (re.compile(r"^(?P<end>\S+) is before in_force_from (?P<start>\S+)$"), gettext_lazy("%(end)s is before the in-force date %(start)s")),
    (re.compile(r"^(?P<retro>\S+) is after in_force_from (?P<start>\S+)$"), gettext_lazy("%(retro)s is after the in-force date %(start)s")),
    (re.compile(r"^must be between (?P<lo>\S+) and (?P<hi>\S+)$"), gettext_lazy("must be between %(lo)s and %(hi)s")),
    (re.compile(r"^must not be below (?P<lo>\S+)$"), gettext_lazy("must not be below %(lo)s")),
    (re.compile(r'^must be a (?:ratio|fraction) .*$'), gettext_lazy("must be a ratio such as 0.75")),
    (re.compile(r'^must be a money amount.*$'), gettext_lazy("must be a money amount such as 2700.00")),
    (re.compile(r'^must be "none", a money amount, or \{"fraction".*$'),
     gettext_lazy("must be none, a money amount, or a share of a statistic")),
    (re.compile(r'^must be a money amount, or "none"|.*, or "none"$'), gettext_lazy("must be a money amount or none")),
    (re.compile(r"^must be a whole number$"), gettext_lazy("must be a whole number")),
    (re.compile(r"^must be one of (?P<c>.+)$"), gettext_lazy("must be one of %(c)s")),
    (re.compile(r"^unknown (?:category|claim kind|scheme|residence|hospital level)s? (?P<v>.+)$"),
     gettext_lazy("unknown entry %(v)s")),
    (re.compile(r"^lists an entry twice$"), gettext_lazy("lists an entry twice")),
    (re.compile(r"^must not be empty$"), gettext_lazy("must not be empty")),
    (re.compile(r"^(?P<cats>\w+) is not one of categories\.recipients$"),
     gettext_lazy("%(cats)s is not one of the recipient categories")),
    (re.compile(r"^(?P<v>\S+) is below the (?P<what>[\w ]+?) floor (?P<lo>\S+)(?: \((?P<clause>.+)\))?$"),
     gettext_lazy("%(v)s is below the floor %(lo)s set by the document")),
    (re.compile(r"^(?P<fw>\S+) (?P<clause>\S+): (?P<cats>.+) must have no deductible.*$"),
     gettext_lazy("%(fw)s %(clause)s: %(cats)s must have no deductible (不设年度救助起付标准)")),
    (re.compile(r"^(?P<fw>\S+) (?P<clause>\S+): outpatient and inpatient share one annual cap.*$"),
     gettext_lazy("%(fw)s %(clause)s: outpatient and inpatient assistance share one annual cap")),
    (re.compile(r"^(?P<fw>\S+) (?P<clause>\S+): (?P<cats>.+) must receive the critical-illness preferential.*$"),
     gettext_lazy("%(fw)s %(clause)s: %(cats)s must receive the critical-illness preferential treatment")),
    (re.compile(r"^unknown parameter$"), gettext_lazy("unknown parameter")),
]

UNSET_RE = re.compile(r"^(?P<what>.+?)(?: for (?P<cat>\w+))? \((?P<path>[\w.\[\]]+)(?:, (?P<clause>.*?))?\) is unset — .*$")
STAT_RE = re.compile(
    r"^statistic (?P<stat>\w+)(?: \([^)]*\))? of region (?P<region>\d{6}) is missing for (?P<years>[\d and]+) — "
    r"needed for the (?P<what>.+?)(?: for (?P<cat>\w+))? \((?P<path>[\w.\[\]]+)(?:, (?P<clause>.*?))?\) of (?P<year>\d{4}) claims.*$"
)
# Refusals of a policy (after "REGION DOCUMENT: "), each with a Chinese explanation (msgid, Chinese
# in locale/policies). Groups are passed by name.
POLICY_REASONS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^claims\[(?P<i>\d+)\] \(id '(?P<id>[^']*)'\) gives no basic_paid .*$", re.S),
     gettext_lazy("claim %(id)s: the policy has no basic-insurance rule for this claim — enter the basic insurance "
                  "payment (basic_paid) from the hospital's settlement statement")),
    (re.compile(r"^claims\[(?P<i>\d+)\] \(id '(?P<id>[^']*)'\) gives no critical_paid .*$", re.S),
     gettext_lazy("claim %(id)s: the policy has no critical-illness insurance rule for this claim — enter the "
                  "critical-illness insurance payment (critical_paid) from the hospital's settlement statement")),
    (re.compile(r"^the assistance of category (?P<cat>\w+) \((?P<path>[^,]+), (?P<clause>.*?)\) is left to another "
                r"rule and unset.*$", re.S),
     gettext_lazy("the document leaves the assistance of %(cat)s to another rule (%(clause)s, %(path)s): it cannot be "
                  "calculated until a policy administrator sets it")),
    (re.compile(r"^announced amount (?P<name>\w+) of region (?P<region>\d{6}) for (?P<year>\d{4}) is not entered — needed "
                r"for the (?P<what>.+?)(?: for (?P<cat>\w+))? \((?P<path>[\w.\[\]]+)(?:, (?P<clause>.*?))?\) of .*$", re.S),
     gettext_lazy("the amount %(name)s that region %(region)s announces for %(year)s is not entered (%(path)s, "
                  "%(clause)s) — a policy administrator must enter it once it is announced; it is never computed")),
    (re.compile(r"^(?P<what>.+?) at hospital level (?P<level>\d)(?: for (?P<cat>\w+))? \((?P<path>[\w.\[\]]+), "
                r"(?P<clause>.*?)\) is unset.*$", re.S),
     gettext_lazy("%(path)s at hospital level %(level)s (%(clause)s) is not set — a policy administrator must set it")),
    (re.compile(r"^the assistance ratio (?P<got>\S+) of (?P<route>\S+) is below the floor (?P<lo>\S+) "
                r"\((?P<path>[^,]+), (?P<clause>.*)\)$", re.S),
     gettext_lazy("the assistance ratio %(got)s (%(route)s) is below the floor %(lo)s the document sets (%(clause)s): "
                  "the settlement is refused")),
]

NO_VERSION_RE = re.compile(r"^no policy version in force on (?P<date>\S+) \(claims\[(?P<i>\d+)\], id (?P<id>[^)]+)\); versions: (?P<v>.*)$")


def _names(codes: str) -> str:
    return "、".join(f"{CATEGORY_NAMES.get(c.strip(), c.strip())}" for c in codes.split(","))


def _param_labels(doc: dict | None) -> dict[str, str]:
    if not doc:
        return {}
    return {leaf.path: leaf.label for leaf in parameter_leaves(doc)}


def _schema_label(path: str) -> str | None:
    from .display import _spec

    spec = _spec(re.sub(r"\[\d+\]", "[0]", path))
    return spec.zh if spec is not None else None


def _schema_list_label(path: str) -> str | None:
    from .display import spec_at
    from .engine import schema

    spec = spec_at(re.sub(r"\[\d+\]", "[0]", path))
    return spec.zh if isinstance(spec, schema.ListOf) else None


def field_name(path: str, labels: dict[str, str] | None = None) -> str:
    """A Chinese name for a parameter path or an input field path."""
    labels = labels or {}
    if path in labels:
        return labels[path]
    m = re.fullmatch(r"claims\[(\d+)\](?:\.(\w+))?", path)
    if m:
        base = _("claim %(n)s") % {"n": int(m.group(1)) + 1}
        return f"{base} · {INPUT_FIELDS.get(m.group(2), m.group(2))}" if m.group(2) else base
    m = re.fullmatch(r"person\.identities\[(\d+)\](?:\.(\w+))?", path)
    if m:
        base = _("identity %(n)s") % {"n": int(m.group(1)) + 1}
        return f"{base} · {INPUT_FIELDS.get(m.group(2), m.group(2))}" if m.group(2) else base
    m = re.fullmatch(r"statistics\.(\w+)", path)
    if m:
        return STATISTIC_NAMES.get(m.group(1), m.group(1))
    m = re.fullmatch(r"(.+)\[(\d+)\]\.(name|label)", path)
    if m and _schema_list_label(m.group(1)):   # an entry's code or name (not parameters themselves)
        entry = f"{_schema_list_label(m.group(1))}{int(m.group(2)) + 1}"
        part = _("the entry's code") if m.group(3) == "name" else _("the entry's name")
        return f"{entry} · {part}"
    last = path.rsplit(".", 1)[-1]
    if last in INPUT_FIELDS and "." not in path:
        return str(INPUT_FIELDS[last])
    if path.startswith("person.") and last in INPUT_FIELDS:
        return str(INPUT_FIELDS[last])
    return _schema_label(path) or _schema_list_label(path) or path


def _reason(text: str) -> str:
    for pattern, msgid in REASONS:
        m = pattern.match(text)
        if m:
            groups = {k: (v or "") for k, v in m.groupdict().items()}
            if "cats" in groups:
                groups["cats"] = _names(groups["cats"])
            for key in [k for k in groups if k.startswith("pct_")]:
                from .display import percent

                groups[key] = percent(groups[key])
            return str(msgid) % groups if groups else str(msgid)
    return text


def explain(message: str, *, doc: dict | None = None) -> str:
    """One engine message, with the field's Chinese name and (where known) a Chinese reason."""
    labels = _param_labels(doc)
    m = _LABEL_RE.match(message)
    if m:  # "360700 赣市府办字〔2022〕112号: ..." — a policy refusing a settlement
        label, rest = m.groups()
        u = UNSET_RE.match(rest)
        if u:
            name = _schema_label(u["path"]) or u["what"]
            who = f"（{CATEGORY_NAMES.get(u['cat'], u['cat'])}）" if u["cat"] else ""
            clause = f"，{u['clause']}" if u["clause"] else ""
            return _("%(label)s: %(name)s%(who)s (%(path)s%(clause)s) is not set — a policy administrator must set it") % {
                "label": label, "name": name, "who": who, "path": u["path"], "clause": clause}
        s = STAT_RE.match(rest)
        if s:
            name = _schema_label(s["path"]) or s["what"]
            return _(
                "%(label)s: the statistic %(stat)s of region %(region)s for %(years)s is missing; the %(name)s "
                "(%(path)s) of %(year)s claims needs it — a policy administrator must enter it on the statistics page"
            ) % {"label": label, "stat": STATISTIC_NAMES.get(s["stat"], s["stat"]), "region": s["region"],
                 "years": s["years"].replace(" and ", "、"), "name": name,
                 "path": s["path"] + (f"，{s['clause']}" if s["clause"] else ""), "year": s["year"]}
        for pattern, msgid in POLICY_REASONS:
            p = pattern.match(rest)
            if p:
                groups = {k: (v or "—") for k, v in p.groupdict().items()}
                from .display import figure_name

                if "cat" in groups:
                    groups["cat"] = CATEGORY_NAMES.get(groups["cat"], groups["cat"])
                if "name" in groups:
                    groups["name"] = figure_name(groups["name"])
                return f"{label}：{msgid % groups}"
        return f"{label}：{explain(rest, doc=doc)}"
    m = _PATH_RE.match(message)
    if not m:
        return message
    path, year, reason = m.groups()
    if path and re.fullmatch(r"\d{6}", path):
        nv = NO_VERSION_RE.match(reason)
        if nv:
            return _("%(region)s: no policy version is in force on %(date)s (claim %(id)s); versions: %(versions)s") % {
                "region": path, "date": nv["date"], "id": nv["id"], "versions": nv["v"]}
        return message
    name = field_name(path, labels)
    if year:
        name = f"{name} {year}"
        path = f"{path}.{year}"
    shown = f"{name}（{path}）" if name != path else path
    return f"{shown}：{_reason(reason)}"


# =============================================================================================
# Problems with codes: one template per code
# =============================================================================================

# The Chinese of a claim's or a person's fields (settlement input); params name them by key.
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
    Code.CASE_TOO_LARGE: gettext_lazy(
        "The costs of the year add up to more than the largest amount the portal can record "
        "(999,999,999,999.99 yuan), so they cannot be settled; check whether a claim's amounts were mistyped."),
    Code.LEGACY: gettext_lazy(
        "The calculation was refused; its reason was recorded in an older form that cannot be shown — "
        "calculate again to see it"),
}

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
    for token in tokens:
        if token.startswith("["):
            if not isinstance(spec, schema.ListOf):
                return None
            words.append(_("no. %(n)s %(what)s") % {"n": int(token[1:-1]) + 1, "what": spec.zh})
            spec = spec.item
            continue
        if isinstance(spec, schema.Group) and token in spec.children:
            spec = spec.children[token]
            if isinstance(spec, schema.Leaf):
                return (" ".join(words) + " 的 " + spec.zh) if words else spec.zh
            if isinstance(spec, schema.Group):
                words.append(spec.zh)
            continue
        if isinstance(spec, schema.Group) and token in spec.strings:
            words.append({"name": "名称", "label": "名称"}.get(token, "名称"))
            continue
        return None
    return " ".join(words) or None


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
        words = _schema_words(path)
        if words:
            return words
        leaf = path.rsplit(".", 1)[-1]
        return _("parameter “%(key)s”") % {"key": leaf}
    return input_label(path)


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
            # manage.py settle: the field by its path first, as settlement.md shows
            # (``claims[0].policy_scope: 48000.00 元超过了医疗总费用 45000.00 元``).
            words["field"] = problem.path
            text = str(template) % words
            return text.replace(f"{problem.path}：", f"{problem.path}: ", 1)
        return str(template) % words


_CJK = re.compile(r"[\u4e00-\u9fff]")


class _Words(dict):
    """A template's values; a param a stored problem lacks reads as a dash, never a KeyError."""

    def __missing__(self, key):
        return _NO_CLAUSE
