"""Recalculating many person-years at once: the set-based way of reading and writing what
:func:`cases.services.settlement.recalculate_person_year` reads and writes with the ORM.

Both hand each person-year's rows to the same pure planner (``cases.services.planner``), which
applies every money rule; this module only reads a chunk of person-years with a few set-based
statements and writes the chunk's plans in bulk, in ONE transaction per chunk:

* one locking read of the chunk's cases (``SELECT … FOR UPDATE`` in id order, as payment batches
  lock them), one read each of the persons, identities, claims, claim links, current settlements,
  adjustments (pending ones locked) and allocations of the chunk;
* ``planner.plan_person_year`` for each person-year, with the policy books of
  ``policies.services.book_for`` fetched once per region and chunk;
* bulk writes: superseded settlements, new settlements and their lines (``COPY`` on PostgreSQL,
  the JSON columns as the canonical texts the planner made for the hashes), cancelled, revived and
  new adjustments, allocations; ``synchronous_commit`` off for the chunk's transaction (a crash can
  lose the last chunks committed, never part of one; their marks are lost with them and they are
  simply recalculated again). Elsewhere (SQLite) the ORM writer of ``settlement.write_plan``.

A chunk is all or nothing: a worker killed half-way leaves no half-recalculated person-year, and
running the same chunk again finds nothing new (the settlement hash and the adjustment basis make it
idempotent). ``tests/faults/test_kill_recalculation.py`` kills workers in the middle of it;
``tests/cases/test_recalc_paths.py`` and ``bench/recalc/run.py`` check that both ways store the same.
"""
from __future__ import annotations

import datetime
import json
import logging
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from portal.copy import copy_rows
from portal.sql import aware_datetime as _datetime
from portal.sql import date as _date
from portal.sql import fetch as _rows
from portal.sql import in_values as _in
from portal.sql import money as _dec
from portal.sql import table as _table

from ..models import (
    CALCULABLE_STATES,
    SETTLED_STATES,
    Adjustment,
    AdjustmentStatus,
    Application,
    ApplicationClaim,
    Claim,
    ClaimAllocation,
    Identity,
    Person,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from . import planner
from .settlement import _no_claims_error, write_plan

log = logging.getLogger(__name__)

CHUNK = 500


def recalculate_person_years(items, *, chunk_size: int = CHUNK, on_chunk=None) -> dict[tuple[int, int], dict]:
    """Recalculate ``items`` — ``(person_id, year, reason)`` triples — as
    ``recalculate_person_year(person_id=…, year=…, reason=…)`` would for each, ``chunk_size``
    person-years per transaction (a person-year given twice is recalculated once, with its first
    reason). Returns ``{(person_id, year): {"settled": [case ids], "adjustments": [adjustment ids]}}``.
    ``on_chunk(pairs, results)`` is called inside each chunk's transaction (the exchange marks its
    recalculation marks done there, so a mark is done exactly when its person-year is)."""
    out: dict[tuple[int, int], dict] = {}
    chunk: dict[tuple[int, int], str] = {}
    for person_id, year, reason in items:
        key = (int(person_id), int(year))
        if key in chunk or key in out:
            continue
        chunk[key] = reason
        if len(chunk) >= chunk_size:
            out.update(_run_chunk(chunk, on_chunk))
            chunk = {}
    if chunk:
        out.update(_run_chunk(chunk, on_chunk))
    return out


def _run_chunk(pairs: dict[tuple[int, int], str], on_chunk) -> dict[tuple[int, int], dict]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The chunk is idempotent and its marks are done in the same transaction: a crash losing
            # the last commits (never half of one) only leaves those person-years to recalculate again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        results = _chunk(pairs)
        if on_chunk is not None:
            on_chunk(pairs, results)
    return results


def _read(pairs) -> dict[tuple[int, int], planner.PersonYear]:
    """The planner's rows of every person-year of the chunk that has cases, its cases locked (and
    their open ones' revision moved on, as ``recalculate_person_year`` does)."""
    persons = sorted({p for p, _y in pairs})
    years = sorted({y for _p, y in pairs})
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    where_p, p1 = _in("person_id", persons)
    where_y, p2 = _in("year", years)
    apps = [row for row in _rows(
        f"SELECT id, person_id, year, state, region_id, tilted_applied, calc_revision, approved_at "
        f"FROM {_table(Application)} WHERE {where_p} AND {where_y} ORDER BY id{lock}", p1 + p2)
        if (row[1], row[2]) in pairs]
    if not apps:
        return {}
    open_ids = [row[0] for row in apps if row[3] in CALCULABLE_STATES]
    if open_ids:
        where, params = _in("id", open_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {_table(Application)} SET calc_revision = calc_revision + 1 WHERE {where}", params)
    app_ids = [row[0] for row in apps]
    where, params = _in("id", persons)
    people = {pk: (residence, scheme) for pk, residence, scheme in _rows(
        f"SELECT id, residence, scheme FROM {_table(Person)} WHERE {where}", params)}
    where, params = _in("person_id", persons)
    identities: dict[int, list] = defaultdict(list)
    for pk, person_id, category, start, end in _rows(
            f'SELECT id, person_id, category, start, "end" FROM {_table(Identity)} WHERE {where}', params):
        identities[person_id].append(planner.IdentityRow(pk, category, _date(start), _date(end)))
    claims: dict[tuple[int, int], list[planner.ClaimRow]] = defaultdict(list)
    lo, hi = datetime.date(years[0], 1, 1), datetime.date(years[-1], 12, 31)
    for (pk, person_id, date, kind, special, level, location, referral, total, scope, basic, critical,
         maf) in _rows(f"SELECT id, person_id, date, kind, special_disease, hospital_level, location, "
                       f"referral_compliant, total, policy_scope, basic_paid, critical_paid, maf_pay "
                       f"FROM {_table(Claim)} WHERE {where} AND date >= %s AND date <= %s AND voided_at IS NULL "
                       f"ORDER BY date, id",
                       params + [lo, hi]):
        date = _date(date)
        key = (person_id, date.year)
        if key in pairs:
            claims[key].append(planner.ClaimRow(pk, date, kind, bool(special), level, location, bool(referral),
                                                _dec(total), _dec(scope), _dec(basic), _dec(critical), _dec(maf)))
    links: dict[int, list[int]] = defaultdict(list)      # case → its claims (every link)
    open_claims: dict[int, set[int]] = defaultdict(set)   # person → claims held by an open case
    where, params = _in("a.person_id", persons)
    for app_id, claim_id, active, app_state, person_id in _rows(
            f"SELECT l.application_id, l.claim_id, l.active, a.state, a.person_id FROM {_table(ApplicationClaim)} l "
            f"JOIN {_table(Application)} a ON a.id = l.application_id WHERE {where} ORDER BY l.id", params):
        links[app_id].append(claim_id)
        if active and app_state in CALCULABLE_STATES:
            open_claims[person_id].add(claim_id)
    current: dict[int, planner.StoredSettlement] = {}
    where, params = _in("application_id", app_ids)
    for pk, app_id, basis, revision, errors, input_hash, result_hash in _rows(
            f"SELECT id, application_id, settlement_hash, revision, errors, input_hash, result_hash "
            f"FROM {_table(Settlement)} WHERE {where} AND status = %s", params + [SettlementStatus.CURRENT]):
        current[app_id] = planner.StoredSettlement(pk, basis, revision,
                                                   json.loads(errors) if isinstance(errors, str) else errors,
                                                   input_hash, result_hash)
    adjustments: dict[int, list[planner.StoredAdjustment]] = defaultdict(list)
    settled_ids = [row[0] for row in apps if row[3] in SETTLED_STATES]
    if settled_ids:
        # Pending adjustments are locked (a payment batch may be taking them).
        list(Adjustment.objects.select_for_update().filter(application_id__in=settled_ids,
                                                            status=AdjustmentStatus.PENDING,
                                                            current_batch__isnull=True).values_list("id"))
        where, params = _in("application_id", settled_ids)
        for pk, app_id, status, batch_id, basis in _rows(
                f"SELECT id, application_id, status, current_batch_id, basis_hash FROM {_table(Adjustment)} "
                f"WHERE {where} ORDER BY id", params):
            adjustments[app_id].append(planner.StoredAdjustment(pk, status, batch_id is not None, basis))
    all_claims = sorted({c.pk for cs in claims.values() for c in cs}
                        | {claim_id for app_id in app_ids for claim_id in links.get(app_id, ())})
    allocations: dict[int, list] = defaultdict(list)   # claim → its allocations
    if all_claims:
        where, params = _in("claim_id", all_claims)
        for claim_id, app_id, adj_id, amount in _rows(
                f"SELECT claim_id, application_id, adjustment_id, amount FROM {_table(ClaimAllocation)} "
                f"WHERE {where} ORDER BY id", params):
            allocations[claim_id].append((claim_id, app_id, adj_id, planner.fen_of(_dec(amount))))

    by_pair: dict[tuple[int, int], list[planner.CaseRow]] = defaultdict(list)
    for pk, person_id, year, state, region_id, tilted, revision, approved_at in apps:
        by_pair[(person_id, year)].append(planner.CaseRow(
            pk, state in CALCULABLE_STATES, state in SETTLED_STATES, region_id, bool(tilted),
            revision + 1 if state in CALCULABLE_STATES else revision, _datetime(approved_at),
            tuple(links.get(pk, ()))))
    out = {}
    for (person_id, year), cases in by_pair.items():
        residence, scheme = people[person_id]
        year_claims = claims.get((person_id, year), [])
        claim_ids = sorted({c.pk for c in year_claims} | {i for case in cases for i in case.claim_ids})
        out[(person_id, year)] = planner.PersonYear(
            person_id=person_id, year=year, residence=residence, scheme=scheme,
            identities=identities.get(person_id, []), claims=year_claims, cases=cases,
            open_claims=frozenset(open_claims.get(person_id, ())),
            current={c.pk: current[c.pk] for c in cases if c.pk in current},
            adjustments={c.pk: adjustments[c.pk] for c in cases if c.pk in adjustments},
            allocations=[row for claim_id in claim_ids for row in allocations.get(claim_id, ())])
    return out


def _chunk(pairs: dict[tuple[int, int], str]) -> dict[tuple[int, int], dict]:
    person_years = _read(pairs)
    books: dict[str, object] = {}

    def book(region_code: str):
        found = books.get(region_code)
        if found is None:
            from policies.services import book_for

            found = books[region_code] = book_for(region_code)
        return found

    plan = planner.Plan()
    results: dict[tuple[int, int], dict] = {}
    no_claims: dict[int, str] = {}
    for (person_id, year), reason in pairs.items():
        py = person_years.get((person_id, year))
        if py is None:
            results[(person_id, year)] = {"settled": [], "adjustments": []}
            continue
        if year not in no_claims:
            no_claims[year] = _no_claims_error(year)
        one = planner.plan_person_year(py, book, reason=reason, no_claims_error=no_claims[year])
        results[(person_id, year)] = {"settled": one.settled, "adjustments": one.adjusted}
        plan.extend(one)
    if connection.vendor == "postgresql" and _check_columns():
        _write_copy(plan)
    else:
        write_plan(plan)
    for value in results.values():
        value["adjustments"] = [a.pk for a in value["adjustments"]]
    return results


# --- Writing (PostgreSQL) ---------------------------------------------------------------------------


def _reserve_ids(model, n: int) -> list[int]:
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, n])
        return [pk for (pk,) in cursor.fetchall()]


_SETTLEMENT_COLUMNS = ("id", "application", "kind", "status", "computed_at", "revision", "year", "reason",
                       "input_hash", "result_hash", "settlement_hash", "payload", "result", "errors", "policies",
                       "year_totals", "alerts", *planner.SUM_KEYS)
_LINE_COLUMNS = ("settlement", "claim", "position", "in_application", "category", "route", "policy",
                 *planner.MONEY_KEYS, "notes", "maf_pay", "paid_before", "payable", *planner.CAP_FLAGS)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_copy(plan: planner.Plan) -> None:
    """``settlement.write_plan`` with ``COPY`` (ids reserved from the sequences first): Django's
    ``bulk_create`` binds every JSON value as an element of a text array, which costs more than the
    engine here. The JSON columns are written as the texts already made for the hashes."""
    fs = planner.fen_text
    with connection.cursor() as cursor:
        if plan.superseded:
            where, params = _in("id", plan.superseded)
            cursor.execute(f"UPDATE {_table(Settlement)} SET status = %s WHERE {where}",
                           [SettlementStatus.SUPERSEDED] + params)
        if plan.revisions:
            cursor.execute(f"UPDATE {_table(Settlement)} s SET revision = v.revision "
                           f"FROM unnest(%s::bigint[], %s::int[]) AS v(id, revision) WHERE s.id = v.id",
                           [list(plan.revisions), list(plan.revisions.values())])
    now = timezone.now()
    if plan.settlements:
        for s, pk in zip(plan.settlements, _reserve_ids(Settlement, len(plan.settlements))):
            s.pk = pk

        def settlements():
            for s in plan.settlements:
                calc = s.calc
                if s.ok:
                    sums = s.sums
                    money = tuple(fs(sums[k]) for k in planner.SUM_KEYS)
                    result, policies = calc.result_text, _json(calc.policies)
                    totals, alerts = _json(calc.result["totals"]), _json(calc.result["alerts"])
                else:
                    money = (None,) * len(planner.SUM_KEYS)
                    result, policies, totals, alerts = None, "[]", "{}", "[]"
                yield (s.pk, s.application_id, s.kind, s.status, now, s.revision, s.year, s.reason, calc.input_hash,
                       s.result_hash, s.settlement_hash, calc.payload_text, result, _json(s.errors), policies,
                       totals, alerts, *money)

        def lines():
            notes_text: dict[tuple, str] = {}
            for s in plan.settlements:
                sid = s.pk
                for line in s.lines:
                    a = line.amounts
                    notes = tuple(line.notes)
                    text = notes_text.get(notes)
                    if text is None:
                        text = notes_text[notes] = _json(line.notes)
                    yield (sid, line.claim_id, line.position, line.in_application, line.category, line.route,
                           line.policy, fs(a[0]), fs(a[1]), fs(a[2]), fs(a[3]), fs(a[4]), fs(a[5]), fs(a[6]),
                           fs(a[7]), text, fs(line.maf_fen), fs(line.paid_before_fen), fs(line.payable_fen),
                           *line.caps)

        copy_rows(Settlement, _SETTLEMENT_COLUMNS, settlements())
        copy_rows(SettlementLine, _LINE_COLUMNS, lines())
    if plan.cancelled:
        ClaimAllocation.objects.filter(adjustment_id__in=plan.cancelled).delete()
        Adjustment.objects.filter(pk__in=plan.cancelled).update(status=AdjustmentStatus.CANCELLED)
    for r in plan.revived:
        Adjustment.objects.filter(pk=r.pk).update(status=AdjustmentStatus.PENDING, settlement_id=r.settlement.pk,
                                                  amount=planner.fen_decimal(r.amount_fen), kind=r.kind,
                                                  reason=r.reason)
    if plan.adjustments:
        objs = [Adjustment(application_id=a.application_id, settlement_id=a.settlement.pk,
                           amount=planner.fen_decimal(a.amount_fen), basis_hash=a.basis_hash, kind=a.kind,
                           reason=a.reason) for a in plan.adjustments]
        _insert(Adjustment, objs)
        for a, obj in zip(plan.adjustments, objs):
            a.pk = obj.pk
    if plan.allocations:
        _insert(ClaimAllocation, [
            ClaimAllocation(claim_id=x.claim_id, application_id=x.application_id, adjustment_id=x.adjustment.pk,
                            settlement_id=x.settlement.pk, amount=planner.fen_decimal(x.amount_fen))
            for x in plan.allocations], ids=False)


def _insert(model, objs: list, *, ids: bool = True) -> None:
    """Model instances by ``COPY``, every concrete field as the instance holds it (defaults included;
    no signals, as with ``bulk_create``); their primary keys reserved first when ``ids``."""
    meta = model._meta
    if ids:
        for obj, pk in zip(objs, _reserve_ids(model, len(objs))):
            obj.pk = pk
    fields = [f for f in meta.concrete_fields if ids or f is not meta.pk]
    getters = []
    for f in fields:
        if f.get_internal_type() == "JSONField":
            getters.append(lambda obj, a=f.attname: _json(getattr(obj, a)))
        else:
            getters.append(lambda obj, a=f.attname: getattr(obj, a))
    copy_rows(model, tuple(f.name for f in fields), (tuple(get(obj) for get in getters) for obj in objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _check_columns() -> bool:
    """Whether the explicit COPY columns of settlements and lines are every column of theirs (a field
    added without adding it here falls back to the ORM writer rather than writing defaults)."""
    return all({f.name for f in model._meta.concrete_fields} == set(columns)
               for model, columns in ((Settlement, _SETTLEMENT_COLUMNS), (SettlementLine, _LINE_COLUMNS + ("id",))))
