"""The checks of one row, and the decision what an accepted row does, in Python.

The PostgreSQL path (``postgres.py``) implements the same rules in SQL; ``tests/exchange`` runs both
on the same files and compares the results.

Order of checks: every column on its own (all problems of a row are reported), then repeats inside
the file (key: identity number + category; the first good row wins), then the row against the
registry as it stood before the push:

* an existing person outside the pusher's regions → rejected (nothing else about them is shown);
  a different name → rejected;
* 新增: an open period of the category starting on or before the date → nothing to do; starting
  later → its start moves back to the date; otherwise a closed period ending on or after the day
  before the date → reopened (start = the earlier of the two); otherwise a new open period;
* 退出: open periods → closed with end = the date (rejected when one starts after the date); no
  open period but one ended on the date → nothing to do; otherwise rejected;
* a person not registered yet: the first 新增 row with a region (given, or the pusher's county)
  registers them; 新增 rows before it lack the region; later rows must carry the same name; 退出
  rows find nothing to close.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from cases.identity_numbers import IdentityNumberError, validate

from . import rules
from .reading import RawRow

REGION_RE = re.compile(r"[0-9]{6}")
RAW_MAX = 200
PARAM_MAX = 50
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class PushContext:
    push_id: int
    department: str
    prefix: str  # the scope prefix of the push's region
    default_region: str  # the push's region when it is a county (used for new persons), else ""
    today: datetime.date
    regions: frozenset[str]
    user_id: int | None
    # {folded code or name: code} and {code: owning department} of the categories the push's region
    # knows (``policies.categories.categories_for(region, below=True)``); None: the national list.
    categories: dict[str, str] | None = None
    owners: dict[str, str] | None = None

    @property
    def category_lookup(self) -> dict[str, str]:
        return self.categories if self.categories is not None else rules.CATEGORY_LOOKUP

    def owner_of(self, category: str) -> str:
        return rules.owner_of(category, self.owners)

    @property
    def source(self) -> str:
        return f"push:{self.push_id}"


def raw_values(raw) -> list[str]:
    """The row's seven values as sent (cut to what the report keeps)."""
    return [v[:RAW_MAX] for v in raw[2:9]]


def check_fields(raw: RawRow, ctx: PushContext) -> tuple[dict, list[dict]]:
    """Normalised values of the row and the problems of its columns."""
    problems: list[dict] = []
    err = rules.err
    number = rules.normalise_id(raw.id_number)
    if raw.id_is_number:
        problems.append(err("id_number", "id_numeric"))
    else:
        problem = rules.id_problem(number, ctx.today)
        if problem is None:
            try:  # the portal's own validator has the last word
                validate(number)
            except IdentityNumberError as exc:  # pragma: no cover - id_problem mirrors validate
                problem = err("id_number", "id_invalid", message=str(exc))
        if problem is not None:
            problems.append(problem)
    id_ok = not problems

    name = rules.clean(raw.name)
    if not name:
        problems.append(err("name", "name_required"))
    elif len(name) > rules.NAME_MAX:
        problems.append(err("name", "name_too_long", max=rules.NAME_MAX))

    category = ""
    text = rules.folded(raw.category)
    if not text:
        problems.append(err("category", "category_required"))
    else:
        category = ctx.category_lookup.get(text.lower(), "")
        if not category:
            problems.append(err("category", "category_unknown", value=rules.clean(raw.category)[:PARAM_MAX]))
        elif ctx.owner_of(category) != ctx.department:
            problems.append(err("category", "category_not_owned", category=category,
                                owner=ctx.owner_of(category), department=ctx.department))
            category = ""

    action = ""
    text = rules.folded(raw.action)
    if not text:
        problems.append(err("action", "action_required"))
    else:
        action = rules.ACTION_LOOKUP.get(text.lower(), "")
        if not action:
            problems.append(err("action", "action_unknown", value=rules.clean(raw.action)[:PARAM_MAX]))

    effective = None
    text = rules.folded(raw.effective)
    if not text:
        problems.append(err("effective", "date_required"))
    else:
        effective = rules.parse_date(text)
        if effective is None:
            problems.append(err("effective", "date_invalid", value=rules.clean(raw.effective)[:PARAM_MAX]))
        elif effective > ctx.today:
            problems.append(err("effective", "date_future", date=effective.isoformat()))
        elif id_ok and effective < rules.birth_date(number):
            problems.append(err("effective", "date_before_birth", date=effective.isoformat(),
                                birth=rules.birth_date(number).isoformat()))

    reference = rules.clean(raw.reference)
    if not reference:
        problems.append(err("reference", "reference_required"))
    elif len(reference) > rules.REFERENCE_MAX:
        problems.append(err("reference", "reference_too_long", max=rules.REFERENCE_MAX))

    region = rules.folded(raw.region)
    if region:
        if not REGION_RE.fullmatch(region):
            problems.append(err("region", "region_invalid", value=rules.clean(raw.region)[:PARAM_MAX]))
            region = ""
        elif region not in ctx.regions:
            problems.append(err("region", "region_unknown", value=region))
            region = ""
        elif not region.startswith(ctx.prefix):
            problems.append(err("region", "region_out_of_scope", value=region))
            region = ""
    person_values = {}
    for field, lookup, code in (("residence", rules.RESIDENCE_LOOKUP, "residence_unknown"),
                                ("scheme", rules.SCHEME_LOOKUP, "scheme_unknown")):
        cell = getattr(raw, field, "")
        text = rules.folded(cell).lower()
        person_values[field] = lookup.get(text, "") if text else ""
        if text and not person_values[field]:
            problems.append(err(field, code, value=rules.clean(cell)[:PARAM_MAX]))
    values = {
        "id_number": number[:40], "name": name[:RAW_MAX], "category": category, "action": action,
        "effective": effective, "reference": reference[:RAW_MAX], "region_code": region or ctx.default_region,
        **person_values,
    }
    return values, problems


class RowChecker:
    """``check_fields`` with a fast lane: a row written the common way (an ASCII identity number
    that is valid, a known category or action spelled exactly, an ISO date, no stray spaces) is
    accepted with a few dictionary lookups; every other row goes through :func:`check_fields`.
    The lane only accepts rows ``check_fields`` accepts, with the same values (tested).

    Rows are the readers' plain tuples (``reading.RawRow`` order)."""

    FIRST_YEAR = 1900

    def __init__(self, ctx: PushContext):
        self.ctx = ctx
        day = datetime.date(self.FIRST_YEAR, 1, 1)
        dates: dict[str, datetime.date] = {}
        births: dict[str, datetime.date] = {}
        while day <= ctx.today:
            iso = day.isoformat()
            dates[iso] = day
            births[iso.replace("-", "")] = day
            day += ONE_DAY
        categories = {
            alias: code for alias, code in ctx.category_lookup.items()
            if ctx.owner_of(code) == ctx.department and rules.folded(alias).lower() == alias
        }
        actions = {a: c for a, c in rules.ACTION_LOOKUP.items() if rules.folded(a).lower() == a}
        regions = {code: code for code in ctx.regions if code.startswith(ctx.prefix)}
        regions[""] = ctx.default_region
        residences = {a: c for a, c in rules.RESIDENCE_LOOKUP.items() if rules.folded(a).lower() == a}
        residences[""] = ""
        schemes = {a: c for a, c in rules.SCHEME_LOOKUP.items() if rules.folded(a).lower() == a}
        schemes[""] = ""
        self.fast = self._fast_lane(dates, births, categories, actions, regions, rules.PROVINCE_PREFIXES,
                                    residences, schemes)

    @staticmethod
    def _fast_lane(dates, births, categories, actions, regions, provinces, residences, schemes):
        trim, digits, name_max, ref_max = rules.TRIM_CHARS, "0123456789X", rules.NAME_MAX, rules.REFERENCE_MAX

        def fast(raw, dates=dates, births=births, categories=categories, actions=actions, regions=regions,
                 provinces=provinces, residences=residences, schemes=schemes, trim=trim, digits=digits, int=int,
                 len=len):
            if raw.__class__ is not tuple:  # a row the reader could not read whole: the slow path reports it
                return None
            _n, is_number, number, name, cat, act, eff, ref, reg, res, sch = raw
            category = categories.get(cat)
            action = actions.get(act)
            effective = dates.get(eff)
            region = regions.get(reg)
            residence = residences.get(res)
            scheme = schemes.get(sch)
            if (category is not None and action is not None and effective is not None and region is not None
                    and residence is not None and scheme is not None
                    and not is_number and len(number) == 18 and number.isascii() and number[:17].isdigit()
                    and number[17] in digits and number[:2] in provinces
                    and 0 < len(name) <= name_max and name[0] not in trim and name[-1] not in trim
                    and 0 < len(ref) <= ref_max and ref[0] not in trim and ref[-1] not in trim):
                birth = births.get(number[6:14])
                # (1 − 2 × the first 17 digits read in base 13) mod 11 is GB 11643's check value.
                if birth is not None and effective >= birth and \
                        digits[(1 - 2 * int(number[:17], 13)) % 11] == number[17]:
                    return number, name, category, action, effective, ref, region, residence, scheme
            return None

        return fast

    def __call__(self, raw) -> tuple[dict, list[dict]]:
        values, problems, _fast = self.check(raw)
        return values, problems

    def check(self, raw) -> tuple[dict, list[dict], bool]:
        """``(values, problems, took_the_fast_lane)``."""
        v = self.fast(raw)
        if v is not None:
            return {"id_number": v[0], "name": v[1], "category": v[2], "action": v[3], "effective": v[4],
                    "reference": v[5], "region_code": v[6], "residence": v[7], "scheme": v[8]}, [], True
        values, problems = check_fields(RawRow._make(raw), self.ctx)
        unread = getattr(raw, "read_problems", None)  # cells the reader could not read (reading.ProblemRow)
        if unread:
            problems = unread + [p for p in problems if p["field"] not in {u["field"] for u in unread}]
        return values, problems, False


# ---------------------------------------------------------------------------------------------
# What an accepted row does
# ---------------------------------------------------------------------------------------------

UNCHANGED, OPEN, BACKDATE, REOPEN, CLOSE, CREATE = "unchanged", "open", "backdate", "reopen", "close", "create"


@dataclass
class Period:
    id: int
    start: datetime.date
    end: datetime.date | None


@dataclass
class Decision:
    outcome: str | None = None  # None: rejected
    problem: dict | None = None
    open_id: int | None = None  # backdate: the period to move; reopen: the period to reopen
    old_start: datetime.date | None = None
    old_end: datetime.date | None = None


def decide_existing(action: str, category: str, effective: datetime.date, periods: list[Period]) -> Decision:
    """The decision for a registered person's row, given their periods of the row's category."""
    opens = [p for p in periods if p.end is None]
    if action == "add":
        if opens:
            first = min(opens, key=lambda p: (p.start, p.id))
            if first.start > effective:
                return Decision(BACKDATE, open_id=first.id, old_start=first.start)
            return Decision(UNCHANGED)
        touching = [p for p in periods if p.end is not None and p.end >= effective - ONE_DAY]
        if touching:
            last = max(touching, key=lambda p: (p.end, p.id))
            return Decision(REOPEN, open_id=last.id, old_start=last.start, old_end=last.end)
        return Decision(OPEN)
    if opens:
        latest = max(p.start for p in opens)
        if latest > effective:
            return Decision(problem=rules.err("effective", "exit_before_start", date=effective.isoformat(),
                                              start=latest.isoformat()))
        return Decision(CLOSE)
    ended = [p.end for p in periods if p.end is not None]
    if effective in ended:
        return Decision(UNCHANGED)
    if ended:
        return Decision(problem=rules.err("action", "no_open_identity_ended", category=category,
                                          end=max(ended).isoformat()))
    return Decision(problem=rules.err("action", "no_open_identity", category=category))


def affected_years(outcome: str, effective: datetime.date, old_start, old_end, this_year: int) -> tuple[int, int] | None:
    """The calendar years whose claims an identity change can alter (inclusive), or None."""
    if outcome in (OPEN, CREATE):
        return effective.year, max(effective.year, this_year)
    if outcome == BACKDATE:
        return effective.year, (old_start - ONE_DAY).year
    if outcome == REOPEN:
        first = effective if effective < old_start else old_end + ONE_DAY
        if first.year > this_year:
            return None
        return first.year, this_year
    if outcome == CLOSE:
        after = effective + ONE_DAY
        if after.year > this_year:
            return None
        return after.year, this_year
    return None
