"""Reading a part of a simulation: the person-years of some regions and a year whose person ids lie
in a range, read with a few set-based statements (never one query per person) straight into
engine objects (``engine.claim_from_row`` / ``engine.input_from_rows``: amounts read as integer
fen, no JSON round trip). Reads only."""
from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection

from cases.models import Application, ApplicationClaim, ApplicationState, Claim, Identity, Person

from .. import engine

# Cases that no longer pay anything are not simulated.
DEAD_STATES = (ApplicationState.REJECTED, ApplicationState.WITHDRAWN)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(column: str, values) -> tuple[str, list]:
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _fen(column: str) -> str:
    """A money column read as integer fen."""
    if connection.vendor == "postgresql":
        return f"({column} * 100)::bigint"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def _date(value) -> datetime.date | None:
    if value is None or type(value) is datetime.date:
        return value
    if isinstance(value, datetime.datetime):
        return value.date()
    return datetime.date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class Case:
    pk: int
    number: str
    region_id: str
    tilted_applied: bool
    claim_ids: set[int] = field(default_factory=set)


@dataclass(slots=True)
class PersonYear:
    person_id: int
    residence: str
    scheme: str
    identities: list[tuple]                  # (category, start, end), in the order the planner lists them
    claims: list[engine.Claim]               # the year's claims, by date then id (ids "c<pk>")
    cases: list[Case]                        # by id
    problems: list[str] = field(default_factory=list)   # stored values the engine cannot take


def read_part(*, regions: list[str], year: int, first_person: int, last_person: int) -> list[PersonYear]:
    """The person-years (person, ``year``) with a live case of ``regions`` whose person id lies in
    ``[first_person, last_person]``; every non-voided claim of the person dated in the year."""
    where_r, params_r = _in("region_id", regions)
    dead = [str(s) for s in DEAD_STATES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, number, person_id, region_id, tilted_applied FROM {_table(Application)} "
            f"WHERE year = %s AND person_id >= %s AND person_id <= %s AND {where_r} "
            f"AND state NOT IN (%s, %s) ORDER BY id",
            [year, first_person, last_person, *params_r, *dead])
        apps = cursor.fetchall()
        if not apps:
            return []
        cases: dict[int, list[Case]] = defaultdict(list)
        by_id: dict[int, Case] = {}
        for pk, number, person_id, region_id, tilted in apps:
            case = by_id[pk] = Case(pk, number or f"#{pk}", region_id, bool(tilted))
            cases[person_id].append(case)
        where_a, params_a = _in("application_id", list(by_id))
        cursor.execute(f"SELECT application_id, claim_id FROM {_table(ApplicationClaim)} WHERE {where_a}", params_a)
        for app_id, claim_id in cursor.fetchall():
            by_id[app_id].claim_ids.add(claim_id)

        cursor.execute(f"SELECT id, residence, scheme FROM {_table(Person)} WHERE id >= %s AND id <= %s",
                       [first_person, last_person])
        people = {pk: (residence, scheme) for pk, residence, scheme in cursor.fetchall() if pk in cases}

        identities: dict[int, list] = defaultdict(list)
        cursor.execute(f'SELECT person_id, category, start, "end" FROM {_table(Identity)} '
                       f"WHERE person_id >= %s AND person_id <= %s ORDER BY person_id, start, category, id",
                       [first_person, last_person])
        for person_id, category, start, end in cursor.fetchall():
            if person_id in cases:
                identities[person_id].append((category, _date(start), _date(end)))

        cursor.execute(
            f"SELECT person_id, id, date, kind, special_disease, hospital_level, location, referral_compliant, "
            f"{_fen('total')}, {_fen('policy_scope')}, {_fen('basic_paid')}, {_fen('critical_paid')} "
            f"FROM {_table(Claim)} WHERE person_id >= %s AND person_id <= %s AND date >= %s AND date <= %s "
            f"AND voided_at IS NULL ORDER BY person_id, date, id",
            [first_person, last_person, datetime.date(year, 1, 1), datetime.date(year, 12, 31)])
        rows = cursor.fetchall()

    claims: dict[int, list] = defaultdict(list)
    problems: dict[int, list[str]] = defaultdict(list)
    claim_from_row = engine.claim_from_row
    for person_id, pk, date, kind, special, level, location, referral, total, scope, basic, critical in rows:
        if person_id not in cases:
            continue
        mine = claims[person_id]
        try:
            mine.append(claim_from_row(f"c{pk}", _date(date), kind, total, scope, special_disease=special,
                                       hospital_level=level, location=location, referral_compliant=referral,
                                       basic_paid_fen=basic, critical_paid_fen=critical, index=len(mine)))
        except engine.InputError as exc:
            problems[person_id].extend(exc.errors)
    out = []
    for person_id in sorted(cases):
        residence, scheme = people.get(person_id, ("rural", "resident"))
        out.append(PersonYear(person_id, residence, scheme, identities.get(person_id, []),
                              claims.get(person_id, []), cases[person_id],
                              problems.get(person_id, [])))
    return out


def person_ids(*, regions: list[str], year: int) -> list[int]:
    """The ids of the persons with a live case of ``regions`` and ``year``, ascending."""
    return list(Application.objects.filter(year=year, region_id__in=regions).exclude(state__in=DEAD_STATES)
                .order_by("person_id").values_list("person_id", flat=True).distinct())
