"""The engine's messages, explained for the Chinese pages.

The engine (and so ``manage.py settle`` and the API) speaks English and names fields by path
(``claims[0].policy_scope: 48000.00 exceeds total 45000.00``). On the pages each message gets the
field's Chinese name in front of the path and, for the reasons the engine gives most, a Chinese
reason; a reason not recognised here is shown as the engine wrote it, still naming the field.
"""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .engine import parameter_leaves
from .engine.constants import CATEGORY_NAMES, STATISTIC_NAMES

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
    last = path.rsplit(".", 1)[-1]
    if last in INPUT_FIELDS and "." not in path:
        return str(INPUT_FIELDS[last])
    if path.startswith("person.") and last in INPUT_FIELDS:
        return str(INPUT_FIELDS[last])
    return _schema_label(path) or path


def _reason(text: str) -> str:
    for pattern, msgid in REASONS:
        m = pattern.match(text)
        if m:
            groups = {k: (v or "") for k, v in m.groupdict().items()}
            if "cats" in groups:
                groups["cats"] = _names(groups["cats"])
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


def render(problem, *, language: str | None = None, field_first: bool = False) -> str:
    """The one renderer of the engine's problems (``policies.engine.Problem`` or its English
    sentence) in the reader's language: Chinese (the default) or English (``language="en"``: the
    engine's own sentence). With ``field_first`` (``manage.py settle``) a problem of an input field
    reads ``claims[0].policy_scope: <reason>``, the field path first as settlement.md asks."""
    from django.utils import translation

    text = getattr(problem, "text", None) or str(problem)
    path = getattr(problem, "path", None)
    language = language or translation.get_language() or "zh-hans"
    if language.lower().startswith("en"):
        return text
    with translation.override(language):
        if field_first and path:
            m = _PATH_RE.match(text)
            if m:
                return f"{text.split(': ', 1)[0]}: {_reason(m.group(3))}"
        return explain(text)
