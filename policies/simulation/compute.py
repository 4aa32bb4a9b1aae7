"""Settling a part twice and aggregating it (pure apart from the books it is given).

Each person-year is settled under the versions in force (``before``) and under the draft
(``after``): once per distinct engine input of its cases (their region and tilted flag), the
same claim objects shared. Each claim of the year counts once, under the case that holds it (the
latest live case linking it; an unlinked claim under the latest case). A person-year refused on
either side (bad stored values, no policy, an unset parameter, a missing figure) is left out of
the comparison and counted by reason.

A part's aggregate (:func:`settle_part`) and the merge (:func:`merge`) use integer fen and
order-independent sums, so the report does not depend on how the person-years were split.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from .. import engine
from .reading import PersonYear

MONEY = ("total", "assistance", "tilted", "out_of_pocket")
CAP_FLAGS = ("basic_cap_reached", "critical_cap_reached", "assistance_cap_reached", "tilted_cap_reached")
LARGEST = 20
EXAMPLES = 10
NO_CLAIMS = "simulation.no_claims"

Books = Callable[[str], engine.PolicyBook]   # region code → book (may raise engine.PolicyError)

_INDEX = re.compile(r"\[\d+\]")
_CLAIM_ID = re.compile(r"'c\d+'")


def empty() -> dict:
    return {
        "person_years": 0, "compared": 0,
        "before": dict.fromkeys(MONEY, 0), "after": dict.fromkeys(MONEY, 0),
        "people": {"up": 0, "down": 0, "same": 0}, "cases": {"up": 0, "down": 0, "same": 0},
        "by_category": {}, "by_kind": {},
        "caps": dict.fromkeys(CAP_FLAGS, 0), "caps_people": 0,
        "thresholds": {}, "thresholds_people": 0,
        "largest": [], "refused": {},
    }


class _Refused(Exception):
    def __init__(self, problem: engine.Problem):
        self.problem = problem


def _refusal_key(side: str, problem: engine.Problem) -> str:
    text = _CLAIM_ID.sub("'c…'", _INDEX.sub("[…]", problem.text))
    return f"{side}|{problem.code}|{text}"


def _input(py: PersonYear, case) -> engine.SettlementInput:
    """The engine input of ``case`` (its region and tilted flag, the person's year), built once for
    both sides; raises engine.InputError for stored values the engine cannot take."""
    key = (case.region_id, case.tilted_applied)
    inp = py.inputs.get(key)
    if inp is None:
        person = engine.Person(residence=py.residence, scheme=py.scheme, identities=py.identities)
        inp = py.inputs[key] = engine.build_input(region=case.region_id, person=person, claims=py.claims,
                                                  tilted_applied=case.tilted_applied)
    return inp


def _settle(py: PersonYear, books: Books):
    """``{case pk: SettlementResult}`` of every case of the person-year under ``books``; raises
    _Refused with the first problem."""
    out, cache = {}, {}
    for case in py.cases:
        key = (case.region_id, case.tilted_applied)
        result = cache.get(key)
        if result is None:
            try:
                result = cache[key] = engine.settle(_input(py, case), books(case.region_id))
            except engine.EngineError as exc:
                raise _Refused(exc.problems[0]) from None
        out[case.pk] = result
    return out


def _owners(py: PersonYear) -> dict[str, int]:
    """claim id → the case whose settlement counts it."""
    owner: dict[str, int] = {}
    latest = py.cases[-1].pk
    for case in py.cases:                      # by id: the latest case linking a claim wins
        for cid in case.claim_ids:
            owner[cid] = case.pk
    return {c.id: owner.get(c.id, latest) for c in py.claims}


def _refuse(part: dict, side: str, problem: engine.Problem, py: PersonYear) -> None:
    key = _refusal_key(side, problem)
    entry = part["refused"].get(key)
    if entry is None:
        entry = part["refused"][key] = {"side": side, "code": problem.code, "text": problem.text,
                                        "path": problem.path, "params": _plain(problem.params),
                                        "count": 0, "cases": []}
    entry["count"] += 1
    entry["cases"] = sorted({*entry["cases"], py.cases[-1].pk})[:EXAMPLES]


def _plain(params: dict) -> dict:
    out = {}
    for k, v in (params or {}).items():
        out[k] = v if isinstance(v, (str, int, float, bool, type(None))) else (
            [str(x) for x in v] if isinstance(v, (list, tuple)) else str(v))
    return out


def settle_part(person_years: list[PersonYear], before: Books, after: Books) -> dict:
    """The aggregate of a part (a JSON-able dict of integers and lists)."""
    part = empty()
    largest: list = []
    buckets: dict = {}          # (category, kind) → [before, after] paid, split into the two tables at the end
    for py in person_years:
        part["person_years"] += 1
        if not py.claims:
            _refuse(part, "both", engine.Problem(NO_CLAIMS, {}, None, "no claims in the year"), py)
            continue
        results = {}
        refused = {}
        for side, books in (("before", before), ("after", after)):
            try:
                results[side] = _settle(py, books)
            except _Refused as exc:
                refused[side] = exc.problem
        if refused:
            if len(refused) == 2 and _refusal_key("", refused["before"]) == _refusal_key("", refused["after"]):
                _refuse(part, "both", refused["before"], py)
            else:
                for side, problem in refused.items():
                    _refuse(part, side, problem, py)
            continue
        part["compared"] += 1
        cases = py.cases
        if len(cases) == 1:
            only = cases[0]
            own = {only.pk: only.claim_ids}
            counted = {only.pk: None}                  # None: every claim
        else:
            owners = _owners(py)
            own = {c.pk: c.claim_ids for c in cases}
            counted = {c.pk: {cid for cid, owner in owners.items() if owner == c.pk} for c in cases}
        paid = [0, 0]
        case_paid = {c.pk: [0, 0] for c in cases}
        capped = ({}, {})
        for i, side in ((0, "before"), (1, "after")):
            caps = capped[i]
            t = a = g = o = 0
            for case_pk, result in results[side].items():
                mine, count, cp = own[case_pk], counted[case_pk], 0
                for c in result.claims:
                    cid = c.id
                    assistance, tilted = c.assistance_fen, c.tilted_fen
                    money = assistance + tilted
                    if cid in mine:
                        cp += money
                    if count is not None and cid not in count:
                        continue
                    t += c.total_fen
                    a += assistance
                    g += tilted
                    o += c.out_of_pocket_fen
                    key = (c.category, c.kind)
                    row = buckets.get(key)
                    if row is None:
                        row = buckets[key] = [0, 0]
                    row[i] += money
                    if c.basic_cap_reached or c.critical_cap_reached or c.assistance_cap_reached or c.tilted_cap_reached:
                        for flag in CAP_FLAGS:
                            if getattr(c, flag):
                                caps[flag] = True
                case_paid[case_pk][i] = cp
            sums = part[side]
            sums["total"] += t
            sums["assistance"] += a
            sums["tilted"] += g
            sums["out_of_pocket"] += o
            paid[i] = a + g
        capped = {"before": set(capped[0]), "after": set(capped[1])}
        new_caps = capped["after"] - capped["before"]
        for flag in new_caps:
            part["caps"][flag] += 1
        if new_caps:
            part["caps_people"] += 1
        latest = py.cases[-1].pk
        alerts_before = {a.kind for a in results["before"][latest].alerts}
        alerts_after = {a.kind for a in results["after"][latest].alerts}
        new_alerts = alerts_after - alerts_before
        for kind in new_alerts:
            part["thresholds"][kind] = part["thresholds"].get(kind, 0) + 1
        if new_alerts:
            part["thresholds_people"] += 1
        change = paid[1] - paid[0]
        part["people"]["up" if change > 0 else "down" if change < 0 else "same"] += 1
        for amounts in case_paid.values():
            d = amounts[1] - amounts[0]
            part["cases"]["up" if d > 0 else "down" if d < 0 else "same"] += 1
        if change:
            case = max(py.cases, key=lambda c: (abs(case_paid[c.pk][1] - case_paid[c.pk][0]), c.pk))
            largest.append([abs(change), change, paid[0], paid[1], py.person_id, case.pk, case.number,
                            case.region_id])
    by_category, by_kind = part["by_category"], part["by_kind"]
    for (category, kind), (b, a) in buckets.items():
        for table, key in ((by_category, category or ""), (by_kind, kind)):
            row = table.get(key)
            if row is None:
                table[key] = [b, a]
            else:
                row[0] += b
                row[1] += a
    part["largest"] = _top(largest)
    return part


def _top(rows: list) -> list:
    return sorted(rows, key=lambda r: (-r[0], r[4]))[:LARGEST]


def merge(parts: list[dict]) -> dict:
    """The sum of parts' aggregates (in any order, the same)."""
    out = empty()
    largest: list = []
    for part in parts:
        for key in ("person_years", "compared", "caps_people", "thresholds_people"):
            out[key] += part[key]
        for group in ("before", "after", "people", "cases", "caps", "thresholds"):
            for k, v in part[group].items():
                out[group][k] = out[group].get(k, 0) + v
        for table in ("by_category", "by_kind"):
            for k, (b, a) in part[table].items():
                row = out[table].setdefault(k, [0, 0])
                row[0] += b
                row[1] += a
        largest.extend(part["largest"])
        for key, entry in part["refused"].items():
            mine = out["refused"].get(key)
            if mine is None:
                out["refused"][key] = {**entry, "cases": list(entry["cases"])}
            else:
                mine["count"] += entry["count"]
                mine["cases"] = sorted({*mine["cases"], *entry["cases"]})[:EXAMPLES]
    out["largest"] = _top(largest)
    return out
