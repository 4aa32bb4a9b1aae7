"""Policy versions, and their rules pre-resolved once into a form the hot loop reads fast.

A ``PolicyVersion`` wraps one validated document. ``compile_version`` turns its parameters into
small slotted objects: amounts in fen, ratios scaled by ``money.SCALE``, lists as frozensets, and
every unset parameter as an ``Unset`` marker that carries its path, clause and English name, so the
calculation can refuse with a precise message only when an amount actually needs it.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from .codes import Code
from .constants import LOCATIONS, RESIDENCES, SCHEMES, TILTED_SCOPES
from .errors import PolicyError, Problem, problem
from .framework import framework_problems
from .money import dec_fen, dec_scaled
from .schema import NONE, _get_node, _spec_for, document_problems, is_leaf, parse_leaves, regional_categories

ANY_LOCATION = frozenset(LOCATIONS)
ALL_RESIDENCES = frozenset(RESIDENCES)
ALL_SCHEMES = frozenset(SCHEMES)


def _date(v) -> _dt.date | None:
    return _dt.date.fromisoformat(v) if isinstance(v, str) else None


@dataclass(eq=False)
class PolicyVersion:
    """One policy document in force for a region over a period (``doc`` is kept for display)."""
    region: str
    document: str
    title: str
    framework: bool
    in_force_from: _dt.date
    in_force_to: _dt.date | None
    retroactive_from: _dt.date | None
    doc: dict = field(repr=False)
    _compiled: dict = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_document(cls, doc: dict) -> PolicyVersion:
        """Parse a version document; raises PolicyError listing its problems when invalid."""
        errors = document_problems(doc)
        if errors:
            who = f"{doc.get('region', '?')} {doc.get('document', '?')}" if isinstance(doc, dict) else "document"
            raise PolicyError([problem(Code.INVALID_DOCUMENT, None, f"{who}: {e.text}", policy=who,
                                       problem=e.as_dict()) for e in errors])
        return cls(region=doc["region"], document=doc["document"], title=doc["title"],
                   framework=doc["framework"], in_force_from=_date(doc["in_force_from"]),
                   in_force_to=_date(doc.get("in_force_to")), retroactive_from=_date(doc.get("retroactive_from")),
                   doc=doc)

    @property
    def effective_from(self) -> _dt.date:
        """First claim date the version settles: its retroactive date when it has one."""
        if self.retroactive_from is not None and self.retroactive_from < self.in_force_from:
            return self.retroactive_from
        return self.in_force_from

    @property
    def label(self) -> str:
        return f"{self.region} {self.document}"

    def overlaps(self, other: PolicyVersion) -> bool:
        a0, a1 = self.effective_from, self.in_force_to or _dt.date.max
        b0, b1 = other.effective_from, other.in_force_to or _dt.date.max
        return a0 <= b1 and b0 <= a1


# ---------------------------------------------------------------------------------------------

class Unset:
    """An unset parameter: refusing to calculate with it names it."""
    __slots__ = ("path", "clause", "what")

    def __init__(self, path: str, clause: str | None, what: str):
        self.path, self.clause, self.what = path, clause, what


class Refusal(Exception):
    """Internal: one claim cannot be settled; ``msg`` is the PolicyError message, ``problem`` the
    structured problem (``code`` from :mod:`.codes`, params, path)."""

    def __init__(self, msg: str, code: Code, path: str | None = None, **params):
        super().__init__(msg)
        self.msg = msg
        self.problem = Problem(code, params, path, msg)


def unset_refusal(label: str, u: Unset, category: str | None = None, among: list[str] | None = None) -> Refusal:
    msg = unset_message(label, u, category)
    if among:
        msg += f" (needed to choose between {', '.join(among)})"
    return Refusal(msg, Code.UNSET, u.path, policy=label, category=category, clause=u.clause, level=None,
                   among=among)


def unset_message(label: str, u: Unset, category: str | None = None) -> str:
    where = u.path + (f", {u.clause}" if u.clause else "")
    who = f" for {category}" if category else ""
    return f"{label}: {u.what}{who} ({where}) is unset — an administrator must set it"


Q_NONE, Q_AMOUNT, Q_FRACTION, Q_UNSET, Q_LEVEL, Q_ANNOUNCED = 0, 1, 2, 3, 4, 5


class Quantity:
    """A deductible or threshold: none, an amount, a fraction of a statistic, an amount per
    hospital level, or an announced yearly figure (by name), with optional fixed amounts for given
    claim years (沧州 2022: 2 700 元)."""
    __slots__ = ("kind", "fen", "ratio", "stat", "fixed", "by_level", "path", "clause", "what", "category")

    def __init__(self, kind, fen=0, ratio=0, stat=None, fixed=None, path="", clause=None, what="",
                 category=None, by_level=None):
        self.kind, self.fen, self.ratio, self.stat = kind, fen, ratio, stat
        self.fixed = fixed or {}
        self.by_level = by_level or {}
        self.path, self.clause, self.what, self.category = path, clause, what, category


class Route:
    __slots__ = ("index", "name", "label", "path", "categories", "kinds", "special", "min_level", "scope_above",
                 "levels", "locations", "deductible", "per_claim", "ratio", "segments", "adjust", "nonref",
                 "pool", "cap", "sub_cap", "floor_breach", "clauses", "unset_match")


class BasicRule:
    __slots__ = ("index", "path", "schemes", "kinds", "levels", "deductible", "ratio", "pool", "cap")


class Critical:
    __slots__ = ("schemes", "kinds", "deductible", "segments", "cap", "pref_categories", "pref_factor", "pref_add",
                 "pref_cap")


class Tilted:
    __slots__ = ("index", "path", "categories", "kinds", "scope", "on_application", "per_stay", "threshold", "ratio",
                 "cap", "lookback", "after_cap", "unset_match", "unset_use")


class Monitor:
    __slots__ = ("kind", "identities", "no_category", "residence", "schemes", "exclude_return", "threshold")


class Compiled:
    """A version's rules, pre-resolved for the hot loop."""
    __slots__ = ("version", "label", "document", "recipients", "rank", "precedence", "years_back",
                 "basic", "basic_cache", "critical", "routes", "route_cache", "routed_categories",
                 "tilted", "monitors", "violations", "unset_categories", "regional", "parent", "note_cache")


def _leaf(params: dict, values: dict, path: str, what: str | None = None, *, conv=None, category=None):
    """Parsed value of a leaf converted by ``conv``, or an Unset marker (None when absent)."""
    try:
        node = _get_node(params, path)
    except KeyError:
        return None
    clause = node.get("clause") if is_leaf(node) else None
    value = values.get(path)
    if value is None:
        spec = _spec_for(path)
        return Unset(path, clause, what or (spec.en if spec else path))
    return conv(value) if conv else value


def _amount_or_none(v):
    return None if v == NONE else dec_fen(v)


def merge_documents(parent: dict, child: dict) -> dict:
    """The document a county settles with when it inherits its city's version (``"inherits"``): the
    city's parameters, overridden by every leaf the county sets; items of a list are matched by
    ``name`` (a county item the city lacks is added). The county's own unset leaves take the city's
    value and clause; its floors (``ratio_min``) stay and are checked against the merged value."""
    import copy as _copy

    def merge(p, c):
        if is_leaf(c):
            if c.get("value") is None and is_leaf(p) and p.get("value") is not None:
                out = _copy.deepcopy(p)
                out["note"] = ((p.get("note") or "") + "（继承上级）").strip()
                return out
            return _copy.deepcopy(c)
        if isinstance(c, dict) and isinstance(p, dict) and not is_leaf(p):
            out = _copy.deepcopy(p)
            for k, v in c.items():
                out[k] = merge(p.get(k), v) if k in p else _copy.deepcopy(v)
            return out
        if isinstance(c, list) and isinstance(p, list):
            by_name = {it.get("name"): it for it in p if isinstance(it, dict) and it.get("name")}
            used = set()
            out = []
            for it in c:
                name = it.get("name") if isinstance(it, dict) else None
                if name in by_name:
                    used.add(name)
                    out.append(merge(by_name[name], it))
                else:
                    out.append(_copy.deepcopy(it))
            out.extend(_copy.deepcopy(it) for it in p
                       if not (isinstance(it, dict) and it.get("name") in used))
            return out
        return _copy.deepcopy(c)

    merged = dict(child)
    merged["parameters"] = merge(parent.get("parameters") or {}, child.get("parameters") or {})
    return merged


def _quantity(params, values, path, what, category=None, fixed_path=None) -> Quantity:
    node = _get_node(params, path)
    clause = node.get("clause")
    q = values.get(path)
    fixed = {}
    if fixed_path is not None:
        f = values.get(fixed_path)
        if f:
            fixed = {y: dec_fen(v) for y, v in f.items()}
    common = dict(path=path, clause=clause, what=what, category=category, fixed=fixed)
    if q is None:
        return Quantity(Q_UNSET, **common)
    if q[0] == NONE:
        return Quantity(Q_NONE, **common)
    if q[0] == "amount":
        return Quantity(Q_AMOUNT, fen=dec_fen(q[1]), **common)
    if q[0] == "by_level":
        return Quantity(Q_LEVEL, by_level={lv: dec_fen(v) for lv, v in q[1].items()}, **common)
    if q[0] == "announced":
        return Quantity(Q_ANNOUNCED, stat=q[1], **common)
    return Quantity(Q_FRACTION, ratio=dec_scaled(q[1]), stat=q[2], **common)


def compile_version(version: PolicyVersion, frameworks: list[PolicyVersion],
                    parent: PolicyVersion | None = None) -> Compiled:
    """The version's rules for the hot loop (cached per set of applicable frameworks and the
    inherited version, if any)."""
    applicable = tuple(fw for fw in frameworks if fw is not version and fw.overlaps(version))
    key = (applicable, parent)  # the objects themselves (hashed by identity), never recycled ids
    cached = version._compiled.get(key)
    if cached is not None:
        return cached
    doc = version.doc if parent is None else merge_documents(parent.doc, version.doc)
    params = doc["parameters"]
    values = parse_leaves(doc)
    cv = Compiled()
    cv.version = version
    cv.parent = parent
    cv.label = version.label
    cv.document = version.document
    cv.violations = [Problem(p.code, {**p.params, "policy": version.label}, p.path, f"{version.label}: {p.text}")
                     for fw in applicable for p in framework_problems(doc, fw.doc)]
    cv.regional = regional_categories(doc)
    cv.note_cache = {}
    cv.unset_categories = {}
    for i, item in enumerate((params.get("categories") or {}).get("unset") or []):
        node = item.get("categories") if isinstance(item, dict) else None
        for c in values.get(f"categories.unset[{i}].categories") or ():
            cv.unset_categories.setdefault(c, Unset(f"categories.unset[{i}].categories",
                                                    node.get("clause") if isinstance(node, dict) else None,
                                                    "assistance of the category"))
    inherited_no_deductible: dict[str, str] = {}
    for fw in applicable:
        node = ((fw.doc["parameters"].get("framework_rules") or {}).get("no_deductible_categories") or {})
        for c in node.get("value") or ():
            inherited_no_deductible.setdefault(c, f"{fw.document} {node.get('clause') or ''}".strip())

    cats = params.get("categories")
    cv.recipients = (_leaf(params, values, "categories.recipients", conv=frozenset)
                     if cats is not None else frozenset())
    prec = _leaf(params, values, "categories.precedence") if cats is not None else ()
    cv.precedence = prec
    cv.rank = {c: i for i, c in enumerate(prec)} if isinstance(prec, tuple) else {}
    # A region whose document names no fallback uses the previous year's statistic only.
    cv.years_back = values.get("statistics.years_back") or (1,)

    # Basic insurance.
    cv.basic = []
    cv.basic_cache = {}
    for i, _ in enumerate((params.get("basic") or {}).get("rules") or []):
        base = f"basic.rules[{i}]"
        r = BasicRule()
        r.index, r.path = i, base
        r.schemes = _leaf(params, values, f"{base}.schemes", conv=frozenset)
        r.kinds = _leaf(params, values, f"{base}.kinds", conv=frozenset)
        r.levels = _leaf(params, values, f"{base}.hospital_levels", conv=frozenset)
        r.deductible = _leaf(params, values, f"{base}.deductible", conv=lambda v: 0 if v == NONE else dec_fen(v))
        r.ratio = _leaf(params, values, f"{base}.ratio", conv=dec_scaled)
        r.pool = _leaf(params, values, f"{base}.pool")
        r.cap = _leaf(params, values, f"{base}.cap", conv=_amount_or_none)
        cv.basic.append(r)

    # Critical-illness insurance.
    crit = params.get("critical")
    cv.critical = None
    if crit is not None:
        k = Critical()
        k.schemes = _leaf(params, values, "critical.schemes", conv=frozenset)
        k.kinds = _leaf(params, values, "critical.kinds", conv=frozenset)     # None: every claim kind
        k.deductible = _quantity(params, values, "critical.deductible", "critical-illness deductible")
        k.segments = _leaf(params, values, "critical.segments", conv=lambda segs: tuple(
            (None if up is None else dec_fen(up), dec_scaled(r)) for up, r in segs))
        k.cap = _leaf(params, values, "critical.cap", conv=_amount_or_none)
        if crit.get("preferential") is not None:
            k.pref_categories = _leaf(params, values, "critical.preferential.categories", conv=frozenset)
            k.pref_factor = _leaf(params, values, "critical.preferential.deductible_factor", conv=dec_scaled)
            k.pref_add = _leaf(params, values, "critical.preferential.ratio_add", conv=dec_scaled)
            k.pref_cap = _leaf(params, values, "critical.preferential.cap", conv=_amount_or_none)
        else:
            k.pref_categories, k.pref_factor, k.pref_add, k.pref_cap = frozenset(), None, None, None
        cv.critical = k

    # Assistance routes.
    cv.routes = []
    cv.route_cache = {}
    cv.routed_categories = set()
    for i, raw in enumerate((params.get("assistance") or {}).get("routes") or []):
        base = f"assistance.routes[{i}]"
        r = Route()
        r.index, r.path = i, base
        r.name = raw.get("name") or f"route{i}"
        r.clauses = tuple((raw.get(k) or {}).get("clause") if isinstance(raw.get(k), dict) else None
                          for k in ("categories", "kinds"))
        r.label = raw.get("label") or r.name
        r.categories = _leaf(params, values, f"{base}.categories", conv=frozenset)
        r.kinds = _leaf(params, values, f"{base}.kinds", conv=frozenset)
        special = _leaf(params, values, f"{base}.special_disease")
        r.special = "any" if special is None else special
        level = _leaf(params, values, f"{base}.min_hospital_level")
        r.min_level = 0 if level is None or level == NONE else level
        above = _leaf(params, values, f"{base}.policy_scope_above", conv=_amount_or_none)
        r.scope_above = above          # None = no condition, int fen, or Unset
        r.levels = _leaf(params, values, f"{base}.hospital_levels", conv=frozenset)
        r.locations = _leaf(params, values, f"{base}.locations", conv=frozenset)
        r.deductible = _quantity(params, values, f"{base}.deductible", "assistance deductible",
                                 fixed_path=f"{base}.deductible_fixed")
        basis = _leaf(params, values, f"{base}.deductible_basis")
        r.per_claim = basis       # None/"annual" → False below, "per_claim" → True, or Unset
        if basis is None or basis == "annual":
            r.per_claim = False
        elif basis == "per_claim":
            r.per_claim = True
        r.segments = _leaf(params, values, f"{base}.segments", conv=lambda segs: tuple(
            (None if up is None else dec_fen(up), dec_scaled(x)) for up, x in segs))
        adj = values.get(f"{base}.ratio_adjustments") or ()
        r.adjust = ({lv: dec_scaled(a) for k, lv, a in adj if k == "hospital_level"},
                    {loc: dec_scaled(a) for k, loc, a in adj if k == "location"}) if adj else None
        r.nonref = _leaf(params, values, f"{base}.non_referral_reduction", conv=dec_scaled)   # None: excluded
        if (r.deductible.kind == Q_UNSET and not r.deductible.fixed and isinstance(r.categories, frozenset)
                and r.categories and all(c in inherited_no_deductible for c in r.categories)):
            # The framework fixes "no deductible" for every category of this route (粤府办 二(四)).
            r.deductible = Quantity(Q_NONE, path=r.deductible.path,
                                    clause=inherited_no_deductible[next(iter(r.categories))],
                                    what="assistance deductible")
        r.ratio = _leaf(params, values, f"{base}.ratio", conv=dec_scaled)
        if r.ratio is None and r.segments is None:
            r.ratio = Unset(f"{base}.ratio", None, "assistance ratio")
        r.pool = _leaf(params, values, f"{base}.pool")
        r.cap = _leaf(params, values, f"{base}.cap", conv=_amount_or_none)
        r.sub_cap = _leaf(params, values, f"{base}.sub_cap", conv=_amount_or_none)
        # A floor ("不低于70%") broken by the ratio this version settles with — e.g. a number a
        # county inherits from its city: refused when a claim settles in the route.
        r.floor_breach = None
        lo = values.get(f"{base}.ratio_min")
        if lo is not None:
            floor_node = _get_node(params, f"{base}.ratio_min")
            rates = ([values[f"{base}.ratio"]] if values.get(f"{base}.ratio") is not None else []) + \
                [x for _, x in (values.get(f"{base}.segments") or ())]
            low = [x for x in rates if x < lo]
            if low:
                r.floor_breach = (f"{base}.ratio_min", floor_node.get("clause"), min(low), lo)
        # The first unset field that matching a claim needs (checked once per claim, not per field).
        r.unset_match = next((u for u in (r.categories, r.kinds, r.special, r.min_level, r.scope_above, r.levels,
                                          r.locations) if type(u) is Unset), None)
        if isinstance(r.categories, frozenset):
            cv.routed_categories |= r.categories
        cv.routes.append(r)

    # Tilted assistance: the single ``tilted`` group, then ``tilted_rules[]``, first match wins.
    cv.tilted = []
    bases = (["tilted"] if params.get("tilted") is not None else []) + \
        [f"tilted_rules[{i}]" for i in range(len(params.get("tilted_rules") or []))]
    for n, base in enumerate(bases):
        t = Tilted()
        t.index, t.path = n, base
        t.categories = _leaf(params, values, f"{base}.categories", conv=frozenset)
        t.kinds = _leaf(params, values, f"{base}.kinds", conv=frozenset)
        t.scope = _leaf(params, values, f"{base}.scope", conv=lambda s: TILTED_SCOPES.get(s, ANY_LOCATION))
        t.on_application = _leaf(params, values, f"{base}.on_application")
        t.per_stay = _leaf(params, values, f"{base}.basis", conv=lambda b: b == "per_stay")
        t.threshold = _quantity(params, values, f"{base}.threshold", "tilted-assistance threshold")
        t.ratio = _leaf(params, values, f"{base}.ratio", conv=dec_scaled)
        t.cap = _leaf(params, values, f"{base}.cap", conv=_amount_or_none)
        look = _leaf(params, values, f"{base}.lookback_months")
        t.lookback = 0 if look is None else look
        t.after_cap = _leaf(params, values, f"{base}.after_assistance_cap")   # None = no gate
        t.unset_match = next((u for u in (t.categories, t.kinds, t.scope) if type(u) is Unset), None)
        t.unset_use = next((u for u in (t.per_stay, t.on_application) if type(u) is Unset), None)
        cv.tilted.append(t)

    # Monitoring.
    cv.monitors = {}
    mon = params.get("monitoring") or {}
    for kind in ("return_to_poverty", "fall_into_poverty"):
        if mon.get(kind) is None:
            continue
        m = Monitor()
        m.kind = kind
        base = f"monitoring.{kind}"
        ret = kind == "return_to_poverty"
        m.identities = _leaf(params, values, f"{base}.identities", conv=frozenset)
        if m.identities is None:
            m.identities = frozenset()
        no_cat = _leaf(params, values, f"{base}.no_category")
        m.no_category = (not ret) if no_cat is None else no_cat
        m.residence = _leaf(params, values, f"{base}.residence", conv=frozenset)
        m.schemes = _leaf(params, values, f"{base}.schemes", conv=frozenset)
        if ret:
            m.residence = ALL_RESIDENCES if m.residence is None else m.residence
            m.schemes = ALL_SCHEMES if m.schemes is None else m.schemes
        excl = _leaf(params, values, f"{base}.exclude_return_population")
        m.exclude_return = (not ret) if excl is None else excl
        m.threshold = _quantity(params, values, f"{base}.threshold", f"{kind.replace('_', '-')} threshold")
        cv.monitors[kind] = m

    version._compiled[key] = cv
    return cv


def routes_for(cv: Compiled, category: str, kind: str, special: bool) -> tuple[Route, ...]:
    """Candidate routes, in document order, for a category / claim kind / special-disease flag.
    Routes with an unset matching field stay candidates (reaching one refuses with its name)."""
    key = (category, kind, special)
    found = cv.route_cache.get(key)
    if found is None:
        out = []
        for r in cv.routes:
            if isinstance(r.categories, frozenset) and category not in r.categories:
                continue
            if isinstance(r.kinds, frozenset) and kind not in r.kinds:
                continue
            if r.special == "required" and not special or r.special == "excluded" and special:
                continue
            out.append(r)
        found = cv.route_cache[key] = tuple(out)
    return found


def basic_rule_for(cv: Compiled, scheme: str, kind: str, level: int) -> BasicRule | None:
    key = (scheme, kind, level)
    if key in cv.basic_cache:
        return cv.basic_cache[key]
    found = None
    for r in cv.basic:
        if isinstance(r.schemes, frozenset) and scheme not in r.schemes:
            continue
        if isinstance(r.kinds, frozenset) and kind not in r.kinds:
            continue
        if isinstance(r.levels, frozenset) and level not in r.levels:
            continue
        found = r
        break
    cv.basic_cache[key] = found
    return found

