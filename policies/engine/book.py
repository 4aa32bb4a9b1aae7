"""The policy book a settlement reads: the region's versions, its frameworks, its statistics.

Treat a book as immutable once it has been used to settle: it caches the version-by-date lookup,
the compiled rules and the resolved statistic-based amounts.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .codes import Code
from .constants import STATISTIC_NAMES
from .errors import PolicyError, problem
from .money import dec_fen, round_scaled
from .schema import regional_categories
from .versions import (
    Q_AMOUNT,
    Q_ANNOUNCED,
    Q_FRACTION,
    Q_LEVEL,
    Q_NONE,
    Compiled,
    PolicyVersion,
    Quantity,
    Refusal,
    compile_version,
    unset_refusal,
)

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"
_MAX_ORD = _dt.date.max.toordinal()


@dataclass(eq=False)
class PolicyBook:
    region: str
    versions: list[PolicyVersion]
    frameworks: list[PolicyVersion] = field(default_factory=list)
    statistics: dict[str, dict[int, Decimal]] = field(default_factory=dict)
    # The versions of the region a county version inherits from (its ``"inherits"`` code).
    parents: list[PolicyVersion] = field(default_factory=list)
    _ctx: BookContext | None = field(default=None, init=False, repr=False)

    def context(self) -> BookContext:
        ctx = self._ctx
        if ctx is None:
            ctx = self._ctx = BookContext(self)
        return ctx

    def version_on(self, day: _dt.date) -> PolicyVersion | None:
        cv = self.context().version_at(day.toordinal())
        return cv.version if cv is not None else None


class BookContext:
    """Per-book caches: compiled versions by date, statistics in fen, resolved quantities."""
    __slots__ = ("book", "region", "_starts", "_entries", "_by_ord", "stats", "qcache")

    def __init__(self, book: PolicyBook):
        self.book = book
        self.region = book.region
        entries = []
        for v in book.versions:
            end = v.in_force_to.toordinal() if v.in_force_to is not None else _MAX_ORD
            entries.append((v.effective_from.toordinal(), end, v))
        # Latest start first: of two versions in force on a date, the later one governs.
        entries.sort(key=lambda e: e[0])
        self._starts = [e[0] for e in entries]
        self._entries = entries
        self._by_ord: dict[int, Compiled | None] = {}
        self.stats: dict[str, dict[int, int]] = {
            kind: {int(y): dec_fen(v if isinstance(v, Decimal) else Decimal(str(v))) for y, v in years.items()}
            for kind, years in (book.statistics or {}).items()}
        self.qcache: dict[tuple[int, int], int] = {}

    def known_categories(self) -> set[str]:
        """Codes of the region's own categories named by any version of the book."""
        out: set[str] = set()
        for v in list(self.book.versions) + list(self.book.parents) + list(self.book.frameworks):
            out.update(regional_categories(v.doc))
        return out

    def parent_at(self, version: PolicyVersion, day_ord: int) -> PolicyVersion | None:
        """The version in force on the day of the region ``version`` inherits (``"inherits"``)."""
        code = version.doc.get("inherits")
        if not code:
            return None
        found = None
        for p in self.book.parents:
            if p.region != code:
                continue
            end = p.in_force_to.toordinal() if p.in_force_to is not None else _MAX_ORD
            if p.effective_from.toordinal() <= day_ord <= end and (
                    found is None or p.effective_from > found.effective_from):
                found = p
        return found

    def version_at(self, day_ord: int) -> Compiled | None:
        try:
            return self._by_ord[day_ord]
        except KeyError:
            pass
        found = None
        i = bisect.bisect_right(self._starts, day_ord)
        while i > 0:
            i -= 1
            start, end, v = self._entries[i]
            if start <= day_ord <= end:
                found = compile_version(v, self.book.frameworks, self.parent_at(v, day_ord))
                break
        self._by_ord[day_ord] = found
        return found

    def statistic(self, kind: str, year: int, years_back: tuple[int, ...]) -> int | None:
        series = self.stats.get(kind)
        if series:
            for back in years_back:
                v = series.get(year - back)
                if v is not None:
                    return v
        return None

    def missing_statistic(self, cv: Compiled, q: Quantity, year: int) -> str:
        tried = " and ".join(str(year - b) for b in cv.years_back)
        name = STATISTIC_NAMES.get(q.stat)
        who = f" for {q.category}" if q.category else ""
        where = q.path + (f", {q.clause}" if q.clause else "")
        return (f"{cv.label}: statistic {q.stat}{f' ({name})' if name else ''} of region {self.region} is missing "
                f"for {tried} — needed for the {q.what}{who} ({where}) of {year} claims; a policy admin must "
                f"enter it")

    def missing_announced(self, cv: Compiled, q: Quantity, year: int) -> str:
        who = f" for {q.category}" if q.category else ""
        where = q.path + (f", {q.clause}" if q.clause else "")
        return (f"{cv.label}: announced amount {q.stat} of region {self.region} for {year} is not entered — needed "
                f"for the {q.what}{who} ({where}) of {year} claims; a policy admin must enter it when the bureau "
                f"announces it")

    def resolve(self, cv: Compiled, q: Quantity, year: int, category: str | None = None, level: int = 1) -> int:
        """A deductible or threshold in fen for claims of ``year`` (at hospital ``level``); Refusal
        when unset, or its statistic or announced figure is missing."""
        key = (id(q), year)
        v = self.qcache.get(key)
        if v is not None:
            return v
        kind = q.kind
        if kind == Q_LEVEL:       # per hospital level: not cached by year
            v = q.by_level.get(level)
            if v is None:
                raise Refusal(f"{cv.label}: {q.what} at hospital level {level}"
                              f"{f' for {category}' if category else ''} ({q.path}, {q.clause or '-'}) is unset "
                              f"— an administrator must set it", Code.UNSET, q.path, policy=cv.label,
                              category=category, clause=q.clause, level=level, among=None)
            return v
        if kind == Q_ANNOUNCED:
            series = self.stats.get(q.stat)
            v = series.get(year) if series else None
            if v is None:
                v = q.fixed.get(year)
            if v is None:
                raise Refusal(self.missing_announced(cv, q, year), Code.ANNOUNCED_MISSING, q.path,
                              policy=cv.label, name=q.stat, region=self.region, year=year, clause=q.clause,
                              category=category or q.category)
        elif q.fixed and year in q.fixed:
            v = q.fixed[year]
        elif q.kind == Q_NONE:
            v = 0
        elif q.kind == Q_AMOUNT:
            v = q.fen
        elif q.kind == Q_FRACTION:
            stat = self.statistic(q.stat, year, cv.years_back)
            if stat is None:
                raise Refusal(self.missing_statistic(cv, q, year), Code.STATISTIC_MISSING, q.path,
                              policy=cv.label, statistic=q.stat, region=self.region,
                              years=[year - b for b in cv.years_back], year=year, clause=q.clause,
                              category=category or q.category)
            v = round_scaled(stat * q.ratio)
        else:
            raise unset_refusal(cv.label, q, category or q.category)
        self.qcache[key] = v
        return v


# ---------------------------------------------------------------------------------------------
# Seed documents (policies/seed/*.json) as a static book: tests, benchmark, fallback.
# ---------------------------------------------------------------------------------------------

_seed_cache: dict[str, list[PolicyVersion]] | None = None


def load_seed_versions(seed_dir: Path | None = None) -> dict[str, list[PolicyVersion]]:
    """Every seed document as a PolicyVersion, by region code."""
    global _seed_cache
    if seed_dir is None and _seed_cache is not None:
        return _seed_cache
    directory = seed_dir or SEED_DIR
    out: dict[str, list[PolicyVersion]] = {}
    for path in sorted(directory.glob("*.json")):
        docs = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(docs, list):
            raise PolicyError([problem(Code.INVALID_DOCUMENT, None, f"{path.name}: must be a JSON list of version "
                                       "documents", policy=path.name, problem="not a list")])
        for doc in docs:
            v = PolicyVersion.from_document(doc)
            out.setdefault(v.region, []).append(v)
    if seed_dir is None:
        _seed_cache = out
    return out


def region_chain(code: str) -> list[str]:
    """The region and its ancestors by code: county xxxxYY → city xxxx00 → province xx0000."""
    chain = [code]
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if parent not in chain:
            chain.append(parent)
    return chain


def static_book_from_seed(region_code: str, statistics: dict | None = None) -> PolicyBook:
    """A book from the seed documents: the versions of the nearest region up the tree that has
    any, the framework documents of the regions above it, and ``statistics`` (none stored)."""
    seeds = load_seed_versions()
    chain = region_chain(region_code)
    for i, code in enumerate(chain):
        if code in seeds:
            frameworks = [v for above in chain[i + 1:] for v in seeds.get(above, []) if v.framework]
            stats = {k: {int(y): (v if isinstance(v, Decimal) else Decimal(str(v))) for y, v in years.items()}
                     for k, years in (statistics or {}).items()}
            inherits = {v.doc.get("inherits") for v in seeds[code]} - {None}
            parents = [v for c in inherits for v in seeds.get(c, [])]
            return PolicyBook(region=region_code, versions=list(seeds[code]), frameworks=frameworks,
                              statistics=stats, parents=parents)
    raise PolicyError([problem(Code.NO_POLICY, None, f"{region_code}: no policy documents for this region or the "
                               f"regions above it ({', '.join(chain)})", region=region_code)])
