"""Reading a part of a simulation: the person-years of some regions and a year whose person ids lie
in a range, read with a few set-based statements (never one query per person) straight into
engine objects (``engine.FenClaim`` — the amounts as integer fen computed by the database, no
``Decimal`` per amount — and ``engine.Identity``; the input is made by ``engine.build_input``, no
JSON round trip). Reads only."""
from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection

from cases.models import Application, ApplicationClaim, ApplicationState, Claim, Identity, Person
from portal.sql import date as _date
from portal.sql import in_values as _in
from portal.sql import table as _table

from .. import engine

# Cases that no longer pay anything are not simulated.
DEAD_STATES = (ApplicationState.REJECTED, ApplicationState.WITHDRAWN)


def _fen_sql(column: str) -> str:
    """A money column (two decimals) as integer fen, NULL kept: exact on PostgreSQL's numeric; on
    SQLite (which may hold 0.1 as a float) rounded to the nearest fen."""
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


@dataclass(slots=True)
class Case:
    pk: int
    number: str
    region_id: str
    tilted_applied: bool
    claim_ids: set[str] = field(default_factory=set)     # the claims it links, as the engine names them ("c<pk>")


@dataclass(slots=True)
class PersonYear:
    person_id: int
    residence: str
    scheme: str
    identities: list[engine.Identity]        # in the order the planner lists them (start, category, id)
    claims: list[engine.FenClaim]            # the year's claims, by date then id (ids "c<pk>")
    cases: list[Case]                        # by id
    inputs: dict = field(default_factory=dict)            # (region, tilted) → engine input, built once


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
            by_id[app_id].claim_ids.add(f"c{claim_id}")

        cursor.execute(f"SELECT id, residence, scheme FROM {_table(Person)} WHERE id >= %s AND id <= %s",
                       [first_person, last_person])
        people = {pk: (residence, scheme) for pk, residence, scheme in cursor.fetchall() if pk in cases}

        identities: dict[int, list] = defaultdict(list)
        cursor.execute(f'SELECT person_id, category, start, "end" FROM {_table(Identity)} '
                       f"WHERE person_id >= %s AND person_id <= %s ORDER BY person_id, start, category, id",
                       [first_person, last_person])
        for person_id, category, start, end in cursor.fetchall():
            if person_id in cases:
                identities[person_id].append(engine.Identity(category, _date(start), _date(end)))

        # the amounts as integer fen, computed by the database (no Decimal per amount here)
        cursor.execute(
            f"SELECT person_id, id, date, kind, special_disease, hospital_level, location, referral_compliant, "
            f"{_fen_sql('total')}, {_fen_sql('policy_scope')}, {_fen_sql('basic_paid')}, {_fen_sql('critical_paid')} "
            f"FROM {_table(Claim)} WHERE person_id >= %s AND person_id <= %s AND date >= %s AND date <= %s "
            f"AND voided_at IS NULL ORDER BY person_id, date, id",
            [first_person, last_person, datetime.date(year, 1, 1), datetime.date(year, 12, 31)])
        rows = cursor.fetchall()

    claims: dict[int, list] = {}
    of = engine.FenClaim.of
    date_type = datetime.date
    mine = None
    current = None
    for person_id, pk, date, kind, special, level, location, referral, total, scope, basic, critical in rows:
        if person_id != current:                  # the rows come by person
            current = person_id
            mine = claims[person_id] = [] if person_id in cases else None
        if mine is not None:
            mine.append(of(f"c{pk}", date if type(date) is date_type else _date(date), kind, total, scope,
                           bool(special), level, location, bool(referral), basic, critical))
    out = []
    for person_id in sorted(cases):
        residence, scheme = people.get(person_id, ("rural", "resident"))
        out.append(PersonYear(person_id, residence, scheme, identities.get(person_id, []),
                              claims.get(person_id, []), cases[person_id]))
    return out


def person_ids(*, regions: list[str], year: int) -> list[int]:
    """The ids of the persons with a live case of ``regions`` and ``year``, ascending."""
    return list(Application.objects.filter(year=year, region_id__in=regions).exclude(state__in=DEAD_STATES)
                .order_by("person_id").values_list("person_id", flat=True).distinct())
