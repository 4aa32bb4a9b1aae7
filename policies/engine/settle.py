"""The three-layer settlement (shared/spec/settlement.md "The calculation"), and its output."""
from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .book import BookContext, PolicyBook
from .codes import Code
from .constants import ALERT_NAMES, KIND_NAMES
from .errors import InputError, PolicyError, Problem, problem
from .inputs import Claim, Identity, SettlementInput, parse_input
from .money import SCALE, fen_dec, fen_str, mul_round, round_scaled
from .versions import Q_FRACTION, Compiled, Refusal, Unset, basic_rule_for, routes_for, unset_refusal

# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _money(name: str):
    def get(self) -> Decimal:
        return fen_dec(getattr(self, name))
    get.__name__ = name.removesuffix("_fen")
    return property(get)


def _money_opt(name: str):
    def get(self) -> Decimal | None:
        v = getattr(self, name)
        return None if v is None else fen_dec(v)
    get.__name__ = name.removesuffix("_fen")
    return property(get)


@dataclass(slots=True)
class ClaimResult:
    """One claim, settled. Amounts are kept in fen (``*_fen``) and offered as Decimal properties
    (``total``, ``basic_paid``, ...)."""
    index: int                      # position in the input's claims list
    id: str
    date: _dt.date
    kind: str
    policy: str | None              # document number of the version applied
    policy_region: str | None       # region of that document (may be an ancestor of the settled region)
    category: str | None
    route: str | None               # assistance route name (None: no route applied)
    pool: str | None                # assistance cap pool of that route
    total_fen: int
    policy_scope_fen: int
    basic_paid_fen: int
    critical_paid_fen: int
    self_pay_in_scope_fen: int
    assistance_fen: int
    tilted_fen: int
    out_of_pocket_fen: int
    basic_computed: bool = False
    critical_computed: bool = False
    critical_preferential: bool = False
    basic_cap_reached: bool = False
    critical_cap_reached: bool = False
    assistance_deductible_fen: int | None = None   # the route's deductible applied to the pool's year cumulative
    assistance_cap_fen: int | None = None          # the route's annual cap (None: no cap, or no route)
    assistance_cap_reached: bool = False
    tilted_category: str | None = None             # category tilted assistance was considered under
    tilted_lookback: bool = False                  # counted by look-back before an identity's start
    tilted_threshold_fen: int | None = None
    tilted_cap_reached: bool = False
    year_out_of_pocket_fen: int = 0                # the year's cumulative out-of-pocket after this claim
    notes: list[str] = field(default_factory=list)

    total = _money("total_fen")
    policy_scope = _money("policy_scope_fen")
    basic_paid = _money("basic_paid_fen")
    critical_paid = _money("critical_paid_fen")
    self_pay_in_scope = _money("self_pay_in_scope_fen")
    assistance = _money("assistance_fen")
    tilted = _money("tilted_fen")
    out_of_pocket = _money("out_of_pocket_fen")
    assistance_deductible = _money_opt("assistance_deductible_fen")
    assistance_cap = _money_opt("assistance_cap_fen")
    tilted_threshold = _money_opt("tilted_threshold_fen")
    year_out_of_pocket = _money_opt("year_out_of_pocket_fen")


@dataclass(slots=True)
class Alert:
    kind: str                       # return_to_poverty | fall_into_poverty
    claim: str                      # id of the claim that crossed the threshold
    date: _dt.date
    year: int
    threshold_fen: int
    out_of_pocket_fen: int          # the year's cumulative out-of-pocket at that claim

    threshold = _money("threshold_fen")
    out_of_pocket = _money("out_of_pocket_fen")

    @property
    def name(self) -> str:
        return ALERT_NAMES[self.kind]


TOTAL_KEYS = ("total", "basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket")


@dataclass(slots=True)
class SettlementResult:
    region: str
    claims: list[ClaimResult]
    alerts: list[Alert]

    @property
    def totals_fen(self) -> dict[str, int]:
        out = dict.fromkeys(TOTAL_KEYS, 0)
        for c in self.claims:
            out["total"] += c.total_fen
            out["basic_paid"] += c.basic_paid_fen
            out["critical_paid"] += c.critical_paid_fen
            out["assistance"] += c.assistance_fen
            out["tilted"] += c.tilted_fen
            out["out_of_pocket"] += c.out_of_pocket_fen
        return out

    @property
    def totals(self) -> dict[str, Decimal]:
        return {k: fen_dec(v) for k, v in self.totals_fen.items()}


def result_to_dict(result: SettlementResult) -> dict:
    """The settlement.md output JSON: money as strings with exactly two decimals."""
    claims = []
    for c in result.claims:
        claims.append({
            "id": c.id, "policy": c.policy, "category": c.category, "route": c.route,
            "total": fen_str(c.total_fen), "policy_scope": fen_str(c.policy_scope_fen),
            "basic_paid": fen_str(c.basic_paid_fen), "critical_paid": fen_str(c.critical_paid_fen),
            "self_pay_in_scope": fen_str(c.self_pay_in_scope_fen), "assistance": fen_str(c.assistance_fen),
            "tilted": fen_str(c.tilted_fen), "out_of_pocket": fen_str(c.out_of_pocket_fen),
            "notes": list(c.notes),
        })
    return {
        "region": result.region,
        "claims": claims,
        "totals": {k: fen_str(v) for k, v in result.totals_fen.items()},
        "alerts": [{"kind": a.kind, "claim": a.claim, "threshold": fen_str(a.threshold_fen),
                    "out_of_pocket": fen_str(a.out_of_pocket_fen)} for a in result.alerts],
    }


# ---------------------------------------------------------------------------------------------
# Helpers for the rarer paths (kept out of the loop body)
# ---------------------------------------------------------------------------------------------


def _months_before(day: _dt.date, months: int) -> _dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return _dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def _refuse_unset(cv: Compiled, u: Unset, category: str | None = None):
    raise unset_refusal(cv.label, u, category)


def _choose(cv: Compiled, cands: list[str]) -> str:
    """The highest-ranked of several categories by the version's precedence."""
    uniq = list(dict.fromkeys(cands))
    if len(uniq) == 1:
        return uniq[0]
    prec = cv.precedence
    if type(prec) is Unset:
        raise unset_refusal(cv.label, prec, None, uniq)
    unranked = [c for c in uniq if c not in cv.rank]
    if unranked:
        raise Refusal(f"{cv.label}: categories.precedence does not rank {', '.join(unranked)} — cannot choose "
                      f"between {', '.join(uniq)}; an administrator must rank it", Code.PRECEDENCE_UNRANKED,
                      "categories.precedence", policy=cv.label, categories=unranked, among=uniq)
    return min(uniq, key=cv.rank.__getitem__)


def _category(cv: Compiled, active: list[str]) -> str | None:
    rec = cv.recipients
    if type(rec) is Unset:
        _refuse_unset(cv, rec)
    cands = [a for a in active if a in rec]
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    return _choose(cv, cands)


def _lookback_category(cv: Compiled, months, idents: list[Identity], day_ord: int, year: int) -> str | None:
    """Look-back (赣州 五(四)): the category of an identity starting later in the same year, at most
    ``months`` months after the claim."""
    rec = cv.recipients
    cands = []
    for ident in idents:
        if ident._s > day_ord and ident.start.year == year and (type(rec) is Unset or ident.category in rec):
            if type(rec) is Unset:
                _refuse_unset(cv, rec)
            if type(months) is Unset:
                _refuse_unset(cv, months)
            if months > 0 and day_ord >= _months_before(ident.start, months).toordinal():
                cands.append(ident.category)
    if not cands:
        return None
    return _choose(cv, cands)


def _segments_pay(x: int, deductible: int, segments, add: int) -> int:
    """f(x): each segment's ratio (+ add) on the part of x above the deductible inside the segment,
    in fen × SCALE."""
    total = 0
    lower = 0
    for upper, ratio in segments:
        lo = deductible if deductible > lower else lower
        hi = x if upper is None or x < upper else upper
        if hi > lo:
            total += (hi - lo) * (ratio + add)
        if upper is None or x <= upper:
            break
        lower = upper
    return total


def _clauses(cv: Compiled, cat: str, kind: str) -> str:
    """The clause that leaves the claim out: that of the routes covering its kind for other
    categories, else of the category's own routes, else the document."""
    for pick in (lambda r: type(r.kinds) is not Unset and kind in r.kinds,
                 lambda r: type(r.categories) is not Unset and cat in r.categories):
        seen = [r.clauses[1] or r.clauses[0] for r in cv.routes if pick(r) and any(r.clauses)]
        seen = list(dict.fromkeys(x for x in seen if x))
        if seen:
            return "、".join(seen)
    return cv.document


def _assistance_raw(cv: Compiled, route, cat, elig: int, a_elig: dict, pool, level: int, loc: str,
                    reduce: int) -> int:
    """ratio-weighted E (flat or segmented on the pool's cumulative E, with additive adjustments
    by level or location and a non-referral reduction, each effective ratio kept in [0, 1]),
    rounded half-up to the fen once. Advances the pool's cumulative E."""
    add = -reduce
    adjust = route.adjust
    if adjust is not None:
        add += adjust[0].get(level, 0) + adjust[1].get(loc, 0)
    segments = route.segments
    if segments is None:
        ratio = route.ratio
        if type(ratio) is Unset:
            _refuse_unset(cv, ratio, cat)
        if add:
            ratio += add
            ratio = 0 if ratio < 0 else (SCALE if ratio > SCALE else ratio)
        if pool is not None:
            a_elig[pool] = a_elig.get(pool, 0) + elig
        return mul_round(elig, ratio)
    if type(segments) is Unset:
        _refuse_unset(cv, segments, cat)
    before = a_elig.get(pool, 0)
    after = before + elig
    a_elig[pool] = after
    total = 0
    lower = 0
    for upper, ratio in segments:
        lo = before if before > lower else lower
        hi = after if upper is None or after < upper else upper
        if hi > lo:
            r = ratio + add
            r = 0 if r < 0 else (SCALE if r > SCALE else r)
            total += (hi - lo) * r
        if upper is None or after <= upper:
            break
        lower = upper
    return round_scaled(total)


def _no_version_message(ctx: BookContext, claim: Claim, idx: int) -> str:
    versions = ctx.book.versions
    if not versions:
        return f"{ctx.region}: no policy versions for this region — a policy admin must add one"
    shown = "; ".join(f"{v.document} from {v.effective_from}" + (f" to {v.in_force_to}" if v.in_force_to else "")
                      for v in sorted(versions, key=lambda v: v.effective_from))
    return (f"{ctx.region}: no policy version in force on {claim.date.isoformat()} (claims[{idx}], id {claim.id!r}); "
            f"versions: {shown}")


def _note_once(noted: set, key, notes: list[str], text: str) -> None:
    if key not in noted:
        noted.add(key)
        notes.append(text)


def _monitor_threshold(ctx: BookContext, cv: Compiled, m, year: int, notes: list[str], noted: set) -> int | None:
    """The monitoring threshold for claims of ``year``, or None (with a note, once) when it is
    unset or its statistic is missing: monitoring never blocks a settlement."""
    key = (m.kind, "threshold", id(cv))
    if key in noted:
        return None
    q = m.threshold
    try:
        return ctx.resolve(cv, q, year)
    except Refusal:
        name = ALERT_NAMES[m.kind]
        if q.kind == Q_FRACTION:
            tried = "、".join(str(year - b) for b in cv.years_back)
            _note_once(noted, key, notes, f"缺少{tried}年度统计数据 {q.stat}，{name}未作预警")
        else:
            _note_once(noted, key, notes, f"{name}监测标准未设定（{cv.document}），未作预警")
        return None


# ---------------------------------------------------------------------------------------------
# The calculation
# ---------------------------------------------------------------------------------------------


def settle(inp: SettlementInput, book: PolicyBook, *, tilted_applied: bool | None = None) -> SettlementResult:
    """Settle the input's claims under the book. Raises PolicyError listing every claim's problem
    (no version in force, an unset parameter an amount needs, a missing statistic, a framework
    breach) and InputError when given and computed amounts contradict each other."""
    applied = inp.tilted_applied if tilted_applied is None else bool(tilted_applied)
    ctx = book.context()
    if inp.regional_categories:
        known = ctx.known_categories()
        bad = [problem(Code.INPUT_UNKNOWN_CATEGORY, f"person.identities[{i}].category", f"unknown category {cat!r} "
                       f"(neither national nor a category of region {inp.region}'s policy)", value=cat,
                       region=inp.region) for i, cat in inp.regional_categories if cat not in known]
        if bad:
            raise InputError(bad)
    person = inp.person
    idents = person.identities
    scheme = person.scheme
    residence = person.residence
    claims = inp.claims
    order = sorted(range(len(claims)), key=lambda i: claims[i]._ord) if len(claims) > 1 else range(len(claims))
    resolve = ctx.resolve
    errors: dict[str, Problem] = {}
    input_errors: list[Problem] = []
    results: list[ClaimResult] = []
    alerts: list[Alert] = []
    year = None
    # Year accumulators (reset on a new calendar year); pools carry across versions and categories.
    basic_used: dict = {}
    a_cum: dict = {}            # pool → the year's cumulative S (annual deductibles)
    a_elig: dict = {}           # pool → the year's cumulative eligible amount E (segments)
    a_used: dict = {}           # pool → assistance paid; (pool, route name) → paid in that route (sub-caps)
    t_acc: dict = {}            # tilted rule index → [cum base, base granted, paid]
    crit_cum = crit_used = oop_cum = 0
    alerted: set = set()        # alert kinds raised this year (once per kind per year)
    noted: set = set()          # monitoring notes given this year (once each per version)

    for idx in order:
        c = claims[idx]
        d = c._ord
        if c._year != year:
            year = c._year
            basic_used, a_cum, a_elig, a_used, t_acc = {}, {}, {}, {}, {}
            crit_cum = crit_used = oop_cum = 0
            alerted, noted = set(), set()
        cv = ctx.version_at(d)
        if cv is None:
            msg = _no_version_message(ctx, c, idx)
            errors.setdefault(msg, Problem(Code.NO_VERSION, {"region": ctx.region, "date": c.date.isoformat(),
                                                             "claim": c.id}, f"claims[{idx}].date", msg))
            continue
        if cv.violations:
            for p in cv.violations:
                errors.setdefault(p.text, p)
            continue
        notes: list[str] = []
        kind = c.kind
        P = c._p
        try:
            # 1. Category.
            active = [i.category for i in idents if i._s <= d <= i._e] if idents else None
            cat = _category(cv, active) if active else None
            if cat is not None and cat in cv.unset_categories:
                u = cv.unset_categories[cat]
                raise Refusal(f"{cv.label}: the assistance of category {cat} ({u.path}, {u.clause or '-'}) is left "
                              f"to another rule and unset — an administrator must set it", Code.CATEGORY_UNSET,
                              u.path, policy=cv.label, category=cat, clause=u.clause)

            # 2. Basic insurance.
            B = c._b
            basic_computed = basic_cap_reached = False
            if B is None:
                rule = basic_rule_for(cv, scheme, kind, c.hospital_level)
                if rule is None:
                    raise Refusal(f"{cv.label}: claims[{idx}] (id {c.id!r}) gives no basic_paid and the document has "
                                  f"no basic-insurance rule for {scheme} {kind} at hospital level {c.hospital_level} "
                                  f"— give basic_paid", Code.BASIC_PAID_NEEDED, f"claims[{idx}].basic_paid",
                                  policy=cv.label, claim=c.id, date=c.date.isoformat(), scheme=scheme, kind=kind,
                                  level=c.hospital_level)
                for u in (rule.schemes, rule.kinds, rule.levels, rule.deductible, rule.ratio, rule.pool):
                    if type(u) is Unset:
                        _refuse_unset(cv, u)
                raw = mul_round(P - rule.deductible, rule.ratio) if P > rule.deductible else 0
                B = raw
                if raw > 0:
                    cap = rule.cap
                    if type(cap) is Unset:
                        _refuse_unset(cv, cap)
                    if cap is not None:
                        used = basic_used.get(rule.pool, 0)
                        left = cap - used if cap > used else 0
                        if raw > left:
                            B, basic_cap_reached = left, True
                        basic_used[rule.pool] = used + B
                basic_computed = True

            # 3. Critical-illness insurance.
            base = P - B
            C = c._c
            crit_counts = True
            critical_computed = critical_cap_reached = preferential = False
            if C is None:
                k = cv.critical
                if k is None:
                    raise Refusal(f"{cv.label}: claims[{idx}] (id {c.id!r}) gives no critical_paid and the document "
                                  f"has no critical-illness rule — give critical_paid", Code.CRITICAL_PAID_NEEDED,
                                  f"claims[{idx}].critical_paid", policy=cv.label, claim=c.id, date=c.date.isoformat(),
                                  scheme=None)
                if type(k.schemes) is Unset:
                    _refuse_unset(cv, k.schemes)
                if scheme not in k.schemes:
                    raise Refusal(f"{cv.label}: claims[{idx}] (id {c.id!r}) gives no critical_paid and the document "
                                  f"has no critical-illness rule for the {scheme} scheme — give critical_paid", Code.CRITICAL_PAID_NEEDED,
                                  f"claims[{idx}].critical_paid", policy=cv.label, claim=c.id, date=c.date.isoformat(),
                                  scheme=scheme)
                if cat is not None:
                    if type(k.pref_categories) is Unset:
                        _refuse_unset(cv, k.pref_categories, cat)
                    preferential = cat in k.pref_categories
                C = 0
                kinds_ok = k.kinds is None or (type(k.kinds) is not Unset and kind in k.kinds)
                if type(k.kinds) is Unset:
                    _refuse_unset(cv, k.kinds, cat)
                crit_counts = kinds_ok
                if base > 0 and kinds_ok:
                    D = resolve(cv, k.deductible, year, cat)
                    segments = k.segments
                    if type(segments) is Unset:
                        _refuse_unset(cv, segments, cat)
                    add = 0
                    cap = k.cap
                    if preferential:
                        for u in (k.pref_factor, k.pref_add, k.pref_cap):
                            if type(u) is Unset:
                                _refuse_unset(cv, u, cat)
                        D = mul_round(D, k.pref_factor)
                        add = k.pref_add
                        cap = k.pref_cap
                    raw = (_segments_pay(crit_cum + base, D, segments, add)
                           - _segments_pay(crit_cum, D, segments, add))
                    if raw > 0:
                        if type(cap) is Unset:
                            _refuse_unset(cv, cap, cat)
                        if cap is not None:
                            left = cap - crit_used if cap > crit_used else 0
                            if raw > left * SCALE:
                                C, critical_cap_reached = left, True
                            else:
                                C = round_scaled(raw)
                        else:
                            C = round_scaled(raw)
                critical_computed = True
            if crit_counts:
                crit_cum += base
            crit_used += C
            S = P - B - C
            if S < 0:
                computed = basic_computed or critical_computed
                input_errors.append(problem(Code.INPUT_PAID_SUM_ABOVE_SCOPE, f"claims[{idx}]",
                                            f"basic_paid + critical_paid ({fen_str(B + C)}) exceeds policy_scope "
                                            f"{fen_str(P)}" + (" (with the computed amounts)" if computed else ""),
                                            amount=fen_str(B + C), scope=fen_str(P), computed=computed))
                continue

            # 5. Assistance.
            A = 0
            route_name = pool = a_ded = a_cap = None
            a_cap_reached = False
            excluded = False
            if cat is not None:
                route = None
                cands = routes_for(cv, cat, kind, c.special_disease)
                level = c.hospital_level
                loc = c.location
                for r in cands:
                    if r.unset_match is not None:
                        _refuse_unset(cv, r.unset_match, cat)
                    if r.min_level and level < r.min_level:
                        continue
                    if r.levels is not None and level not in r.levels:
                        continue
                    if r.locations is not None and loc not in r.locations:
                        continue
                    if r.scope_above is not None and P <= r.scope_above:
                        continue
                    route = r
                    break
                if route is None:
                    if not c.referral_compliant:
                        excluded = True
                        notes.append("未按规定转诊，不予救助")
                    elif cat not in cv.routed_categories:
                        notes.append("该类别无医疗救助规定，不予救助")
                    else:
                        note = cv.note_cache.get((cat, kind))
                        if note is None:
                            covered = any(kind in r.kinds for r in cv.routes
                                          if type(r.categories) is not Unset and cat in r.categories
                                          and type(r.kinds) is not Unset)
                            note = cv.note_cache[(cat, kind)] = "" if covered else \
                                f"该类别{KIND_NAMES[kind]}不予救助（{cv.document} {_clauses(cv, cat, kind)}）"
                        if note:
                            notes.append(note)
                        if note:
                            pass
                        elif cands:
                            notes.append("不符合" + "、".join(r.label for r in cands) + "条件，不予救助")
                        else:
                            notes.append("不符合救助条件，不予救助")
                elif not c.referral_compliant and route.nonref is None:
                    excluded = True          # A = 0, G = 0, and the claim counts in no accumulator
                    notes.append("未按规定转诊，不予救助")
                else:
                    if route.floor_breach is not None:
                        fpath, fclause, got, lo = route.floor_breach
                        raise Refusal(f"{cv.label}: the assistance ratio {got} of {route.path} is below the floor {lo} "
                                      f"({fpath}, {fclause or '-'})", Code.RATIO_BELOW_FLOOR, fpath,
                                      policy=cv.label, ratio=str(got), floor=str(lo), route=route.path, clause=fclause)
                    if type(route.nonref) is Unset:
                        _refuse_unset(cv, route.nonref, cat)
                    route_name = route.name
                    pool = route.pool
                    a_cap = route.cap if type(route.cap) is not Unset else None
                    if S > 0:
                        if type(pool) is Unset:
                            _refuse_unset(cv, pool, cat)
                        if type(route.per_claim) is Unset:
                            _refuse_unset(cv, route.per_claim, cat)
                        a_ded = resolve(cv, route.deductible, year, cat, level)
                        if route.per_claim:
                            elig = S - a_ded if S > a_ded else 0
                        else:
                            before = a_cum.get(pool, 0)
                            after = before + S
                            a_cum[pool] = after
                            elig = ((after - a_ded if after > a_ded else 0)
                                    - (before - a_ded if before > a_ded else 0))
                        if elig > 0:
                            ratio = route.ratio
                            if (route.segments is None and route.adjust is None and c.referral_compliant
                                    and type(ratio) is not Unset):
                                # The common case: one flat ratio.
                                a_elig[pool] = a_elig.get(pool, 0) + elig
                                raw = mul_round(elig, ratio)
                            else:
                                raw = _assistance_raw(cv, route, cat, elig, a_elig, pool, level, loc,
                                                      0 if c.referral_compliant else route.nonref)
                            A = raw
                            if raw > 0:
                                cap = route.cap
                                if type(cap) is Unset:
                                    _refuse_unset(cv, cap, cat)
                                used = a_used.get(pool, 0)
                                if cap is not None:
                                    left = cap - used if cap > used else 0
                                    if A > left:
                                        A, a_cap_reached = left, True
                                        notes.append("已达年度救助限额")
                                sub = route.sub_cap
                                if sub is not None:
                                    if type(sub) is Unset:
                                        _refuse_unset(cv, sub, cat)
                                    rkey = (pool, route.name)
                                    r_used = a_used.get(rkey, 0)
                                    left = sub - r_used if sub > r_used else 0
                                    if A > left:
                                        A = left
                                        notes.append(f"已达{route.label}年度限额")
                                    a_used[rkey] = r_used + A
                                a_used[pool] = used + A
                        elif a_ded:
                            notes.append("未达起付标准")
                    elif type(pool) is Unset:
                        pool = None
                    if not c.referral_compliant:
                        notes.append("未按规定转诊，救助比例降低")

            # 6. Tilted assistance.
            G = 0
            t_cat = cat
            lookback = False
            t_thr = None
            t_cap_reached = False
            rules = cv.tilted
            if rules and c.referral_compliant and not excluded:
                rule = None
                for tc in rules:
                    if cat is None and idents:
                        t_cat = _lookback_category(cv, tc.lookback, idents, d, year) if tc.lookback else None
                    if t_cat is None:
                        continue
                    if tc.unset_match is not None:
                        _refuse_unset(cv, tc.unset_match, t_cat)
                    if t_cat in tc.categories and kind in tc.kinds and c.location in tc.scope:
                        rule = tc
                        break
                if rule is None and t_cat is not None and cat is not None and any(
                        t_cat in tc.categories and kind in tc.kinds for tc in rules):
                    notes.append("超出倾斜救助就医地域范围")
                if rule is not None:
                    tc = rule
                    if tc.unset_use is not None:
                        _refuse_unset(cv, tc.unset_use, t_cat)
                    if tc.per_stay and kind != "inpatient":
                        pass
                    elif tc.on_application and not applied:
                        notes.append("倾斜救助需依申请")
                    else:
                        if cat is None:
                            lookback = True
                            notes.append(f"身份认定前{tc.lookback}个月内费用，计入倾斜救助")
                        gate = tc.after_cap
                        if type(gate) is Unset:
                            _refuse_unset(cv, gate, t_cat)
                        acc = t_acc.get(tc.index)
                        if acc is None:
                            acc = t_acc[tc.index] = [0, 0, 0]
                        t_base = S - A
                        elig = 0
                        if t_base > 0:
                            t_thr = resolve(cv, tc.threshold, year, t_cat, c.hospital_level)
                            if tc.per_stay:
                                elig = t_base - t_thr if t_base > t_thr else 0
                            else:
                                acc[0] += t_base
                                elig = (acc[0] - t_thr if acc[0] > t_thr else 0) - acc[1]
                                if elig < 0:
                                    elig = 0
                        # The gate "after the assistance cap" (赣州 五(四), 示例市 第六条(二)): G only on a claim
                        # whose capped route's pool has reached its cap after this claim.
                        if gate and not (a_cap is not None and route_name is not None
                                         and a_used.get(pool, 0) >= a_cap):
                            if elig > 0:
                                notes.append("医疗救助未达年度限额，暂不给予倾斜救助")
                            elig = 0
                        elif not tc.per_stay:
                            acc[1] += elig
                        if elig > 0:
                            ratio = tc.ratio
                            if type(ratio) is Unset:
                                _refuse_unset(cv, ratio, t_cat)
                            G = mul_round(elig, ratio)
                            if G > 0:
                                cap = tc.cap
                                if type(cap) is Unset:
                                    _refuse_unset(cv, cap, t_cat)
                                if cap is not None:
                                    left = cap - acc[2] if cap > acc[2] else 0
                                    if G > left:
                                        G, t_cap_reached = left, True
                                        notes.append("已达倾斜救助年度限额")
                                acc[2] += G
            if cat is None and not lookback:
                notes.append("非救助对象，不予救助")

            # 7. Out of pocket.
            T = c._t
            oop = T - B - C - A - G
            oop_cum += oop

            # 8. Monitoring (never refuses: unset or unknown figures give a note, no alert).
            monitors = cv.monitors
            if monitors and len(alerted) < 2:
                in_return = False
                for mkind in ("return_to_poverty", "fall_into_poverty"):
                    m = monitors.get(mkind)
                    if m is None:
                        continue
                    ids, res, sch = m.identities, m.residence, m.schemes
                    if type(ids) is Unset or type(res) is Unset or type(sch) is Unset:
                        _note_once(noted, (mkind, "population", id(cv)), notes,
                                   f"{ALERT_NAMES[mkind]}监测人群未设定（{cv.document}），未作预警")
                        continue
                    watched = (((m.no_category and cat is None) or (ids and active and not ids.isdisjoint(active)))
                               and residence in res and scheme in sch)
                    if watched and m.exclude_return and in_return:
                        watched = False
                    if mkind == "return_to_poverty":
                        in_return = watched
                    if watched and mkind not in alerted:
                        thr = _monitor_threshold(ctx, cv, m, year, notes, noted)
                        if thr is not None and oop_cum > thr:
                            alerts.append(Alert(mkind, c.id, c.date, year, thr, oop_cum))
                            alerted.add(mkind)
        except Refusal as e:
            errors.setdefault(e.msg, e.problem)
            continue

        v = cv.version
        results.append(ClaimResult(
            idx, c.id, c.date, kind, v.document, v.region, cat, route_name, pool,
            c._t, P, B, C, S, A, G, oop,
            basic_computed, critical_computed, preferential, basic_cap_reached, critical_cap_reached,
            a_ded, a_cap, a_cap_reached, t_cat if (t_cat is not None and rules) else None, lookback,
            t_thr, t_cap_reached, oop_cum, notes))

    if input_errors:
        raise InputError(input_errors)
    if errors:
        raise PolicyError(list(errors.values()))
    return SettlementResult(region=inp.region, claims=results, alerts=alerts)


def settle_payload(payload: dict, book_factory: Callable[[str, dict | None], PolicyBook]) -> dict:
    """Parse, build the book with ``book_factory(region_code, statistics_override_or_None)``, settle,
    and return the output JSON. Raises InputError or PolicyError."""
    inp = parse_input(payload)
    book = book_factory(inp.region, inp.statistics)
    return result_to_dict(settle(inp, book))
