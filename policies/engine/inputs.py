"""The settlement input (shared/spec/settlement.md "Input") and its validation."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .codes import Code
from .constants import CATEGORIES, HOSPITAL_LEVELS, KINDS, LOCATIONS, RESIDENCES, SCHEMES
from .errors import InputError, Problem, problem
from .money import dec_fen, decimals, fen_dec, fen_str, to_decimal

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION_RE = re.compile(r"^\d{6}$")
_STAT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_OPEN_END = _dt.date.max.toordinal()


@dataclass(slots=True)
class Identity:
    category: str
    start: _dt.date
    end: _dt.date | None = None
    _s: int = field(init=False, repr=False, compare=False)
    _e: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._s = self.start.toordinal()
        self._e = self.end.toordinal() if self.end is not None else _OPEN_END

    def active_on(self, day: _dt.date) -> bool:
        return self._s <= day.toordinal() <= self._e


@dataclass(slots=True)
class Person:
    residence: str = "rural"
    scheme: str = "resident"
    identities: list[Identity] = field(default_factory=list)


def _fen(value) -> int | None:
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = to_decimal(value)
    return dec_fen(value)


@dataclass(slots=True)
class Claim:
    id: str
    date: _dt.date
    kind: str
    total: Decimal
    policy_scope: Decimal
    special_disease: bool = False
    hospital_level: int = 1
    location: str = "county"
    referral_compliant: bool = True
    basic_paid: Decimal | None = None
    critical_paid: Decimal | None = None
    # Pre-computed for the calculation: date ordinal, year, amounts in fen.
    _ord: int = field(init=False, repr=False, compare=False)
    _year: int = field(init=False, repr=False, compare=False)
    _t: int = field(init=False, repr=False, compare=False)
    _p: int = field(init=False, repr=False, compare=False)
    _b: int | None = field(init=False, repr=False, compare=False)
    _c: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._ord = self.date.toordinal()
        self._year = self.date.year
        self._t = _fen(self.total)
        self._p = _fen(self.policy_scope)
        self._b = _fen(self.basic_paid)
        self._c = _fen(self.critical_paid)


@dataclass(slots=True)
class SettlementInput:
    region: str
    person: Person
    claims: list[Claim]
    statistics: dict[str, dict[int, Decimal]] | None = None
    tilted_applied: bool = False
    # (identity index, code) of identities whose category is not national: each must be one of the
    # region's own categories (``categories.regional`` of a version of its book).
    regional_categories: list = field(default_factory=list)


# ---------------------------------------------------------------------------------------------

def _parse_date(value, path: str, errors: list[Problem]) -> _dt.date | None:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        errors.append(problem(Code.INPUT_NOT_DATE, path, "not a date (expected YYYY-MM-DD)"))
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        errors.append(problem(Code.INPUT_NOT_DATE, path, "not a date (expected YYYY-MM-DD)"))
        return None


_MONEY_RE = re.compile(r"\d{1,15}(?:\.\d{1,2})?", re.ASCII)  # ASCII digits only: never ١٠٠٠
_CENT = Decimal("0.01")


def _parse_money(value, path: str, errors: list[Problem]) -> Decimal | None:
    if type(value) is str and _MONEY_RE.fullmatch(value):      # the common case, e.g. "1200.00"
        return Decimal(value).quantize(_CENT)
    try:
        d = to_decimal(value)
    except ValueError:
        errors.append(problem(Code.INPUT_NOT_MONEY, path, "not a money amount (expected a decimal such as \"1200.00\")"))
        return None
    d = _amount(d, path, errors)
    return None if d is None else d.quantize(_CENT)


def _amount(d: Decimal, path: str, errors: list[Problem]) -> Decimal | None:
    """``d`` when it is an amount (not negative, at most two decimals), else None, the problems recorded."""
    bad = False
    if d < 0:
        errors.append(problem(Code.INPUT_NEGATIVE, path, "must not be negative"))
        bad = True
    if decimals(d) > 2:
        errors.append(problem(Code.INPUT_TOO_MANY_DECIMALS, path, "at most two decimals", places=2))
        bad = True
    return None if bad else d


def _parse_bool(obj: dict, key: str, path: str, default: bool, errors: list[Problem]) -> bool:
    v = obj.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        errors.append(problem(Code.INPUT_NOT_BOOL, f"{path}.{key}", "must be true or false"))
        return default
    return v


def _parse_enum(obj: dict, key: str, path: str, choices, default, errors: list[Problem]):
    v = obj.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or v not in choices:
        errors.append(_unknown(path, key, v, choices))
        return default
    return v


def _unknown(path: str, key: str, value, choices) -> Problem:
    """``person.scheme: unknown scheme 'x' (expected one of resident, employee)``."""
    shown = ", ".join(str(c) for c in choices)
    return problem(Code.INPUT_UNKNOWN_VALUE, f"{path}.{key}", f"unknown {key.replace('_', ' ')} {value!r} (expected one "
                   f"of {shown})", field=key, value=_plain(value), choices=list(choices))


def _plain(value):
    """``value`` as a JSON value for a problem's params (its repr when it is not one)."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else repr(value)


def _unknown_category(path: str, value) -> Problem:
    return problem(Code.INPUT_UNKNOWN_CATEGORY, f"{path}.category", f"unknown category {value!r} (expected one of "
                   f"{', '.join(CATEGORIES)}, or a category of the region's policy)", value=_plain(value), region=None)


def _end_before(path: str, end, start) -> Problem:
    return problem(Code.INPUT_END_BEFORE_START, f"{path}.end", f"{end} is before start {start}",
                   end=str(end), start=str(start))


def _duplicate(path: str, cid: str, other: int) -> Problem:
    return problem(Code.INPUT_DUPLICATE_ID, f"{path}.id", f"duplicate id {cid!r} (also claims[{other}])",
                   id=cid, other=other)


def _not_region(value) -> Problem:
    return problem(Code.INPUT_NOT_REGION, "region", f"{value!r} is not a 6-digit GB/T 2260 code", value=_plain(value))


def _unknown_keys(obj: dict, allowed, path: str, errors: list[Problem]):
    for key in obj:
        if key not in allowed:
            errors.append(problem(Code.INPUT_UNKNOWN_FIELD, f"{path}{'.' if path else ''}{key}", "unknown field"))


_CLAIM_KEYS = ("id", "date", "kind", "special_disease", "hospital_level", "location", "referral_compliant",
               "total", "policy_scope", "basic_paid", "critical_paid")
_CLAIM_KEY_SET = frozenset(_CLAIM_KEYS)


def _parse_claim(raw, i: int, errors: list[Problem]) -> Claim | None:
    path = f"claims[{i}]"
    if not isinstance(raw, dict):
        errors.append(problem(Code.INPUT_NOT_OBJECT, path, "must be an object"))
        return None
    before = len(errors)
    if not _CLAIM_KEY_SET.issuperset(raw):
        _unknown_keys(raw, _CLAIM_KEYS, path, errors)
    cid = raw.get("id")
    if isinstance(cid, int) and not isinstance(cid, bool):
        cid = str(cid)
    if not isinstance(cid, str) or not cid.strip():
        errors.append(problem(Code.INPUT_REQUIRED, f"{path}.id", "required (a non-empty string)"))
        cid = None
    day = _parse_date(raw.get("date"), f"{path}.date", errors) if "date" in raw else None
    if "date" not in raw:
        errors.append(problem(Code.INPUT_REQUIRED, f"{path}.date", "required (YYYY-MM-DD)"))
    kind = raw.get("kind")
    if kind is None:
        errors.append(problem(Code.INPUT_REQUIRED, f"{path}.kind", f"required (one of {', '.join(KINDS)})"))
    elif kind not in KINDS:
        errors.append(_unknown(path, "kind", kind, KINDS))
        kind = None
    special = _parse_bool(raw, "special_disease", path, False, errors)
    referral = _parse_bool(raw, "referral_compliant", path, True, errors)
    level = _parse_enum(raw, "hospital_level", path, HOSPITAL_LEVELS, 1, errors)
    location = _parse_enum(raw, "location", path, LOCATIONS, "county", errors)
    amounts = {}
    for key in ("total", "policy_scope", "basic_paid", "critical_paid"):
        v = raw.get(key)
        if v is None:
            if key in ("total", "policy_scope"):
                errors.append(problem(Code.INPUT_REQUIRED, f"{path}.{key}", "required"))
            amounts[key] = None
            continue
        amounts[key] = _parse_money(v, f"{path}.{key}", errors)
    t, p, b, c = (amounts[k] for k in ("total", "policy_scope", "basic_paid", "critical_paid"))
    _check_amounts(path, t, p, b, c, errors)
    if len(errors) != before:
        return None
    return Claim(id=cid, date=day, kind=kind, total=t, policy_scope=p, special_disease=special,
                 hospital_level=level, location=location, referral_compliant=referral,
                 basic_paid=b, critical_paid=c)


def _check_amounts(path: str, t, p, b, c, errors: list[Problem]) -> None:
    """The claim's amounts against each other (policy scope within the total, B and C within the
    policy scope)."""
    if t is not None and p is not None and p > t:
        errors.append(problem(Code.INPUT_SCOPE_ABOVE_TOTAL, f"{path}.policy_scope",
                              f"{fen_str(dec_fen(p))} exceeds total {fen_str(dec_fen(t))}",
                              amount=fen_str(dec_fen(p)), total=fen_str(dec_fen(t))))
    if p is not None:
        paid = [(k, v) for k, v in (("basic_paid", b), ("critical_paid", c)) if v is not None]
        if len(paid) == 2 and b + c > p:
            errors.append(problem(Code.INPUT_PAID_SUM_ABOVE_SCOPE, path, f"basic_paid + critical_paid "
                                  f"({fen_str(dec_fen(b + c))}) exceeds policy_scope {fen_str(dec_fen(p))}",
                                  amount=fen_str(dec_fen(b + c)), scope=fen_str(dec_fen(p)), computed=False))
        else:
            for k, v in paid:
                if v > p:
                    errors.append(problem(Code.INPUT_PAID_ABOVE_SCOPE, f"{path}.{k}", f"{fen_str(dec_fen(v))} exceeds "
                                          f"policy_scope {fen_str(dec_fen(p))}", amount=fen_str(dec_fen(v)),
                                          scope=fen_str(dec_fen(p))))


def _parse_statistics(raw, errors: list[Problem]) -> dict[str, dict[int, Decimal]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.append(problem(Code.INPUT_NOT_OBJECT, "statistics", "must be an object of statistic → {year: value}"))
        return None
    out: dict[str, dict[int, Decimal]] = {}
    for kind, years in raw.items():
        path = f"statistics.{kind}"
        if not isinstance(kind, str) or not _STAT_RE.match(kind):
            errors.append(problem(Code.INPUT_NOT_STATISTIC, path, "not a statistic code (such as city_income)",
                                  value=_plain(kind)))
            continue
        if not isinstance(years, dict):
            errors.append(problem(Code.INPUT_NOT_OBJECT, path, "must be an object of year → value, e.g. "
                                  "{\"2022\": \"32000.00\"}"))
            continue
        series: dict[int, Decimal] = {}
        for year, value in years.items():
            if not isinstance(year, str) or not re.fullmatch(r"\d{4}", year):
                errors.append(problem(Code.INPUT_NOT_YEAR, f"{path}.{year}", "not a year (expected YYYY)", value=_plain(year)))
                continue
            d = _parse_money(value, f"{path}.{year}", errors)
            if d is not None:
                series[int(year)] = d
        out[kind] = series
    return out


def parse_input(payload: dict) -> SettlementInput:
    """Validate and parse the settlement input JSON. Raises InputError listing every problem,
    each naming its field (``claims[0].policy_scope: 48000.00 exceeds total 45000.00``)."""
    errors: list[Problem] = []
    if not isinstance(payload, dict):
        raise InputError([problem(Code.INPUT_NOT_OBJECT, None, "input: must be a JSON object")])
    _unknown_keys(payload, ("region", "person", "statistics", "tilted_applied", "claims"), "", errors)
    region = payload.get("region")
    if isinstance(region, int) and not isinstance(region, bool):
        region = str(region)
    if region is None:
        errors.append(problem(Code.INPUT_REQUIRED, "region", "required (a 6-digit GB/T 2260 code)"))
    elif not isinstance(region, str) or not _REGION_RE.match(region):
        errors.append(_not_region(region))

    person_raw = payload.get("person")
    person = Person()
    regional: list[tuple[int, str]] = []
    if person_raw is not None and not isinstance(person_raw, dict):
        errors.append(problem(Code.INPUT_NOT_OBJECT, "person", "must be an object"))
        person_raw = None
    if person_raw is not None:
        _unknown_keys(person_raw, ("residence", "scheme", "identities"), "person", errors)
        person.residence = _parse_enum(person_raw, "residence", "person", RESIDENCES, "rural", errors)
        person.scheme = _parse_enum(person_raw, "scheme", "person", SCHEMES, "resident", errors)
        idents = person_raw.get("identities")
        if idents is None:
            idents = []
        if not isinstance(idents, list):
            errors.append(problem(Code.INPUT_NOT_LIST, "person.identities", "must be a list"))
            idents = []
        for i, raw in enumerate(idents):
            path = f"person.identities[{i}]"
            if not isinstance(raw, dict):
                errors.append(problem(Code.INPUT_NOT_OBJECT, path, "must be an object"))
                continue
            _unknown_keys(raw, ("category", "start", "end"), path, errors)
            cat = raw.get("category")
            ok = True
            if cat not in CATEGORIES:
                if isinstance(cat, str) and _CODE_RE.match(cat):
                    regional.append((i, cat))      # a region's own category: checked against its policy
                else:
                    errors.append(_unknown_category(path, cat))
                    ok = False
            if raw.get("start") is None:
                errors.append(problem(Code.INPUT_REQUIRED, f"{path}.start", "required (YYYY-MM-DD)"))
                start = None
            else:
                start = _parse_date(raw.get("start"), f"{path}.start", errors)
            end = None
            if raw.get("end") is not None:
                end = _parse_date(raw["end"], f"{path}.end", errors)
                if end is None:
                    ok = False
            if start is None:
                ok = False
            if start is not None and end is not None and end < start:
                errors.append(_end_before(path, end, start))
                ok = False
            if ok:
                person.identities.append(Identity(category=cat, start=start, end=end))

    statistics = _parse_statistics(payload.get("statistics"), errors)
    tilted = payload.get("tilted_applied", False)
    if tilted is None:
        tilted = False
    if not isinstance(tilted, bool):
        errors.append(problem(Code.INPUT_NOT_BOOL, "tilted_applied", "must be true or false"))
        tilted = False

    claims: list[Claim] = []
    raw_claims = payload.get("claims")
    if raw_claims is None:
        errors.append(problem(Code.INPUT_REQUIRED, "claims", "required (a list of claims)"))
        raw_claims = []
    elif not isinstance(raw_claims, list):
        errors.append(problem(Code.INPUT_NOT_LIST, "claims", "must be a list of claims"))
        raw_claims = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_claims):
        if isinstance(raw, dict):
            cid = raw.get("id")
            cid = str(cid) if isinstance(cid, int) and not isinstance(cid, bool) else cid
            if isinstance(cid, str) and cid.strip():
                if cid in seen:
                    errors.append(_duplicate(f"claims[{i}]", cid, seen[cid]))
                else:
                    seen[cid] = i
        claim = _parse_claim(raw, i, errors)
        if claim is not None:
            claims.append(claim)
    if errors:
        raise InputError(errors)
    return SettlementInput(region=region, person=person, claims=claims, statistics=statistics,
                           tilted_applied=tilted, regional_categories=regional)


# --- Inputs already typed (a database's checked values) ---------------------------------------------

def _typed_money(value, path: str, errors: list[Problem], *, required: bool) -> Decimal | None:
    """The amount when it is a valid one, else None (the problem recorded, as ``_parse_money``)."""
    if type(value) is Decimal and value.is_finite() and value >= 0:
        # the common case: a stored amount such as Decimal("1200.00") (== its value to the fen: no
        # more than two decimals; cheaper than as_tuple(), which the hot path of a batch felt)
        try:
            if value == value.quantize(_CENT):
                return value
        except InvalidOperation:        # beyond the context's precision: the slow path says why
            pass
    if value is None:
        if required:
            errors.append(problem(Code.INPUT_REQUIRED, path, "required"))
        return None
    if type(value) is not Decimal or not value.is_finite():
        errors.append(problem(Code.INPUT_NOT_MONEY, path, "not a money amount (expected a decimal such as \"1200.00\")"))
        return None
    return _amount(value, path, errors)


def build_input(*, region: str, person: Person, claims: list[Claim], statistics: dict | None = None,
                tilted_applied: bool = False) -> SettlementInput:
    """The engine input from values that are already typed — dates as ``datetime.date``, amounts as
    ``Decimal`` with at most two decimals, the codes as ``parse_input`` reads them — e.g. the rows a
    database holds. It checks exactly what :func:`parse_input` checks of such values (codes, amounts
    against each other, unique claim ids, identity periods) and raises :class:`InputError` with the
    same messages, without the JSON round trip. ``build_input(...)`` and
    ``parse_input(<the same values as JSON>)`` give equal inputs (tests/policies/engine/test_build_input.py).
    The claims may be :class:`FenClaim` (amounts read as integer fen), checked the same way."""
    errors: list[Problem] = []
    if not isinstance(region, str) or not _REGION_RE.match(region):
        errors.append(_not_region(region))
    if person.residence not in RESIDENCES:
        errors.append(_unknown("person", "residence", person.residence, RESIDENCES))
    if person.scheme not in SCHEMES:
        errors.append(_unknown("person", "scheme", person.scheme, SCHEMES))
    regional: list[tuple[int, str]] = []
    for i, ident in enumerate(person.identities):
        path = f"person.identities[{i}]"
        if ident.category not in CATEGORIES:
            if isinstance(ident.category, str) and _CODE_RE.match(ident.category):
                regional.append((i, ident.category))
            else:
                errors.append(_unknown_category(path, ident.category))
        if ident.end is not None and ident.end < ident.start:
            errors.append(_end_before(path, ident.end, ident.start))
    seen: dict[str, int] = {}
    for i, claim in enumerate(claims):
        if type(claim) is FenClaim:             # the common case of a batch: all well, nothing to word
            cid, t, p, b, c = claim.id, claim._t, claim._p, claim._b, claim._c
            if (type(cid) is str and cid not in seen and cid.strip() and claim.kind in KINDS
                    and type(claim.hospital_level) is int and claim.hospital_level in HOSPITAL_LEVELS
                    and claim.location in LOCATIONS and type(t) is int and type(p) is int and 0 <= p <= t
                    and (b is None or (type(b) is int and 0 <= b <= p))
                    and (c is None or (type(c) is int and 0 <= c <= p))
                    and (b is None or c is None or b + c <= p)):
                seen[cid] = i
                continue
        path = f"claims[{i}]"
        if not isinstance(claim.id, str) or not claim.id.strip():
            errors.append(problem(Code.INPUT_REQUIRED, f"{path}.id", "required (a non-empty string)"))
        elif claim.id in seen:
            errors.append(_duplicate(path, claim.id, seen[claim.id]))
        else:
            seen[claim.id] = i
        if claim.kind not in KINDS:
            errors.append(_unknown(path, "kind", claim.kind, KINDS))
        if claim.hospital_level not in HOSPITAL_LEVELS or isinstance(claim.hospital_level, bool):
            errors.append(_unknown(path, "hospital_level", claim.hospital_level, HOSPITAL_LEVELS))
        if claim.location not in LOCATIONS:
            errors.append(_unknown(path, "location", claim.location, LOCATIONS))
        if type(claim) is FenClaim:             # amounts already integer fen: no Decimal made
            _check_fen_amounts(path, claim, errors)
            continue
        amounts = [_typed_money(getattr(claim, key), f"{path}.{key}", errors, required=required)
                   for key, required in (("total", True), ("policy_scope", True), ("basic_paid", False),
                                         ("critical_paid", False))]
        _check_amounts(path, *amounts, errors)
    if errors:
        raise InputError(errors)
    return SettlementInput(region=region, person=person, claims=list(claims), statistics=statistics,
                           tilted_applied=bool(tilted_applied), regional_categories=regional)


# --- Claims read as integer fen (a batch's hot path) --------------------------------------------------

def _fen_amount(slot: str, doc: str):
    def get(self) -> Decimal | None:
        v = getattr(self, slot)
        return None if v is None else fen_dec(v)

    def put(self, value) -> None:
        setattr(self, slot, _fen(value))

    return property(get, put, doc=doc)


class FenClaim(Claim):
    """A claim whose amounts were read as integer fen (e.g. ``CAST(ROUND(total * 100) AS BIGINT)``
    from a database's money columns): :meth:`of` stores the fen the calculation uses and makes no
    ``Decimal``; ``total``, ``policy_scope``, ``basic_paid`` and ``critical_paid`` are derived from
    them when read. Settles exactly as the :class:`Claim` of the same values;
    :func:`build_input` checks it as it checks any claim."""

    __slots__ = ()
    total = _fen_amount("_t", "total in fen as a Decimal")
    policy_scope = _fen_amount("_p", "policy scope as a Decimal")
    basic_paid = _fen_amount("_b", "basic insurance paid as a Decimal (None: not given)")
    critical_paid = _fen_amount("_c", "critical-illness insurance paid as a Decimal (None: not given)")

    @classmethod
    def of(cls, id: str, date: _dt.date, kind: str, total: int, policy_scope: int, special_disease: bool,
           hospital_level: int, location: str, referral_compliant: bool, basic_paid: int | None,
           critical_paid: int | None) -> FenClaim:
        """The claim of these values, the amounts in integer fen (basic / critical None: not given)."""
        c = cls.__new__(cls)
        c.id, c.date, c.kind = id, date, kind
        c.special_disease, c.hospital_level, c.location, c.referral_compliant = (
            special_disease, hospital_level, location, referral_compliant)
        c._t, c._p, c._b, c._c = total, policy_scope, basic_paid, critical_paid
        c._ord = date.toordinal()
        c._year = date.year
        return c


def _check_fen_amounts(path: str, claim: FenClaim, errors: list[Problem]) -> None:
    """What ``_typed_money`` and ``_check_amounts`` say of a claim's amounts, said of its fen (the
    slow path of a claim that is not well formed: the same problems, word for word)."""
    amounts = [_typed_money(fen_dec(v) if type(v) is int else v, f"{path}.{key}", errors, required=required)
               for key, v, required in (("total", claim._t, True), ("policy_scope", claim._p, True),
                                        ("basic_paid", claim._b, False), ("critical_paid", claim._c, False))]
    _check_amounts(path, *amounts, errors)
