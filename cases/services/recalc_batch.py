"""Recalculating many person-years at once: the set-based twin of
:func:`cases.services.settlement.recalculate_person_year`.

:func:`recalculate_person_years` gives, for every ``(person, year)``, exactly what calling
``recalculate_person_year`` for each in turn gives — the same settlements (same hashes, numbers and
lines), the same adjustments and allocations, the same revisions — but a chunk of person-years at
a time, in ONE transaction per chunk:

* one locking read of the chunk's cases (``SELECT … FOR UPDATE`` in id order, as payment batches
  lock them), one read each of the persons, identities, claims, claim links, current settlements,
  adjustments (pending ones locked) and allocations of the chunk;
* the engine in-process (``engine.settle_payload`` with the books of ``policies.services.book_for``,
  fetched once per region and chunk), once per distinct engine input;
* the rules of ``settle_application`` / ``_recalculate_settled`` applied in memory, in the same
  order, the ledger (allocations) and the adjustments kept up to date as it goes;
* bulk writes: superseded settlements, new settlements and their lines (``COPY``), cancelled, revived
  and new adjustments, allocations.

A chunk is all or nothing: a worker killed half-way leaves no half-recalculated person-year, and
running the same chunk again finds nothing new (the settlement hash and the adjustment basis make it
idempotent, as on the per-person path). ``tests/faults/test_recalc_batch.py`` compares both paths.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..models import (
    CALCULABLE_STATES,
    SETTLED_STATES,
    Adjustment,
    AdjustmentKind,
    AdjustmentStatus,
    Application,
    ApplicationClaim,
    Claim,
    ClaimAllocation,
    Identity,
    Person,
    Settlement,
    SettlementKind,
    SettlementLine,
    SettlementStatus,
)
from .settlement import MONEY_KEYS, ZERO, _basis_hash, _money

CHUNK = 500


def _canonical(value) -> tuple[str, str]:
    """``(text, settlement.canonical_hash(value))``: the same serialisation; the text is also what is
    stored in the JSON column, so each value is serialised once."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _in(column: str, values) -> tuple[str, list]:
    """``column IN (…)`` as one array parameter on PostgreSQL (a chunk has thousands of ids)."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


class _App:
    """A locked case: the fields the recalculation reads."""

    __slots__ = ("pk", "person_id", "year", "state", "region_id", "tilted_applied", "calc_revision", "approved_at")
    COLUMNS = ("id", "person_id", "year", "state", "region_id", "tilted_applied", "calc_revision", "approved_at")

    def __init__(self, row):
        (self.pk, self.person_id, self.year, self.state, self.region_id, self.tilted_applied, self.calc_revision,
         self.approved_at) = row


class _Current:
    """A stored current settlement: what ``_store`` and ``_recalculate_settled`` compare."""

    __slots__ = ("pk", "application_id", "settlement_hash", "revision", "errors", "input_hash", "result_hash",
                 "status")
    COLUMNS = ("id", "application_id", "settlement_hash", "revision", "errors", "input_hash", "result_hash", "status")

    def __init__(self, row):
        (self.pk, self.application_id, self.settlement_hash, self.revision, errors, self.input_hash,
         self.result_hash, self.status) = row
        self.errors = json.loads(errors) if isinstance(errors, str) else errors


class _Line:
    """A settlement line to be written (the attributes of SettlementLine)."""

    __slots__ = ("claim_id", "position", "in_application", "category", "route", "policy", "notes", "maf_pay",
                 "paid_before", "payable", *MONEY_KEYS)

    def __init__(self, **values):
        for k, v in values.items():
            setattr(self, k, v)


class _Claim:
    """A claim of the year: its engine input item (exactly ``settlement.claim_payload``) and maf_pay."""

    __slots__ = ("pk", "person_id", "year", "maf_pay", "item", "raw")
    COLUMNS = ("id", "person_id", "date", "kind", "special_disease", "hospital_level", "location",
               "referral_compliant", "total", "policy_scope", "basic_paid", "critical_paid", "maf_pay")

    def __init__(self, row):
        (pk, self.person_id, date, kind, special, level, location, referral, total, scope, basic, critical,
         self.maf_pay) = row
        self.pk, self.year = pk, date.year
        self.raw = (date, kind, special, level, location, referral, total, scope, basic, critical)
        item = {
            "id": f"c{pk}", "date": date.isoformat(), "kind": kind, "special_disease": special,
            "hospital_level": level, "location": location, "referral_compliant": referral,
            "total": _money(total), "policy_scope": _money(scope),
        }
        if basic is not None:
            item["basic_paid"] = _money(basic)
        if critical is not None:
            item["critical_paid"] = _money(critical)
        self.item = item


def _direct_input(region: str, residence: str, scheme: str, identities, tilted: bool, claims: list[_Claim]):
    """What ``engine.parse_input`` returns for the payload of these values, built without parsing
    it — or None when a value is one ``parse_input`` would refuse (it then runs, and says why).
    The database already guarantees most of its checks; the others are repeated here."""
    from policies import engine
    from policies.engine import constants as c

    if not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
        return None
    if residence not in c.RESIDENCES or scheme not in c.SCHEMES:
        return None
    periods = []
    for start, category, _pk, end in identities:
        if category not in c.CATEGORIES or (end is not None and end < start):
            return None
        periods.append(engine.Identity(category=category, start=start, end=end))
    out = []
    for claim in claims:
        day, kind, special, level, location, referral, total, scope, basic, critical = claim.raw
        if (kind not in c.KINDS or location not in c.LOCATIONS or type(level) is not int
                or level not in c.HOSPITAL_LEVELS or type(special) is not bool or type(referral) is not bool):
            return None
        amounts = (total, scope, basic, critical)
        if any(a is not None and (a < 0 or a != a.quantize(_CENT)) for a in amounts) or scope > total:
            return None
        if basic is not None and critical is not None:
            if basic + critical > scope:
                return None
        elif (basic is not None and basic > scope) or (critical is not None and critical > scope):
            return None
        out.append(engine.Claim(
            id=f"c{claim.pk}", date=day, kind=kind, total=total.quantize(_CENT), policy_scope=scope.quantize(_CENT),
            special_disease=special, hospital_level=level, location=location, referral_compliant=referral,
            basic_paid=None if basic is None else basic.quantize(_CENT),
            critical_paid=None if critical is None else critical.quantize(_CENT)))
    return engine.SettlementInput(region=region, person=engine.Person(residence=residence, scheme=scheme,
                                                                      identities=periods),
                                  claims=out, statistics=None, tilted_applied=bool(tilted))


_CENT = Decimal("0.01")


class _Chunk:
    """The state of one chunk: what was read, and what is to be written."""

    def __init__(self):
        self.current: dict[int, object] = {}                # application id → current settlement
        self.allocations: dict[int, list[list]] = defaultdict(list)  # claim → [[application, adjustment key, amount]]
        self.allocated: dict[object, set[int]] = defaultdict(set)     # adjustment key → its claims
        self.adjustments: dict[int, list[Adjustment]] = defaultdict(list)  # application id → all of them
        self.superseded: list[int] = []
        self.revisions: dict[int, int] = {}                 # stored settlement id → new revision
        self.new_settlements: list[Settlement] = []
        self.new_lines: dict[int, list[_Line]] = {}         # id(settlement) → its lines
        self.texts: dict[int, dict[str, str]] = {}          # id(settlement) → JSON columns already serialised
        self.cancelled: list[int] = []
        self.revived: list[tuple[Adjustment, object]] = []  # (adjustment, its new settlement)
        self.new_adjustments: list[tuple[Adjustment, object]] = []
        self.new_allocations: list[tuple[ClaimAllocation, object, Adjustment]] = []
        self.books: dict = {}

    # -- the ledger ---------------------------------------------------------------------------

    @staticmethod
    def key(adjustment) -> object:
        return adjustment.pk if adjustment.pk is not None else id(adjustment)

    def committed(self, claim_ids, *, exclude_application_id=None, exclude_adjustment_keys=()) -> dict[int, Decimal]:
        """settlement.committed_by_claim over the ledger in memory (its ``Sum`` per claim)."""
        out: dict[int, Decimal] = {}
        excluded = set(exclude_adjustment_keys)
        for claim_id in claim_ids:
            for app_id, adj_key, amount in self.allocations.get(claim_id, ()):
                if exclude_application_id is not None and app_id == exclude_application_id:
                    continue
                if adj_key is not None and adj_key in excluded:
                    continue
                out[claim_id] = out.get(claim_id, ZERO) + amount
        return out

    def allocate(self, claim_id: int, app_id: int, adj_key, amount: Decimal) -> None:
        self.allocations[claim_id].append([app_id, adj_key, amount])
        if adj_key is not None:
            self.allocated[adj_key].add(claim_id)

    def drop_allocations(self, adj_keys) -> None:
        for key in adj_keys:
            for claim_id in self.allocated.pop(key, ()):
                self.allocations[claim_id] = [r for r in self.allocations[claim_id] if r[1] != key]

    # -- the engine and _store ---------------------------------------------------------------------

    def engine(self, payload: dict, direct=None) -> tuple[dict | None, list[str]]:
        """settlement.call_engine, with the chunk's books. ``direct``: the engine input already built
        from the database's values (what ``parse_input(payload)`` returns), or None to parse."""
        from policies import engine
        from policies.services import SettlementRefused, book_for

        def factory(region_code, statistics):
            key = (region_code, json.dumps(statistics, sort_keys=True, default=str) if statistics else None)
            book = self.books.get(key)
            if book is None:
                book = self.books[key] = book_for(region_code, statistics)
            return book

        try:
            try:
                if direct is not None:
                    return engine.result_to_dict(engine.settle(direct, factory(direct.region, None))), []
                return engine.settle_payload(payload, factory), []
            except engine.EngineError as exc:
                raise SettlementRefused(exc.errors) from exc
        except SettlementRefused as exc:
            return None, [str(e) for e in (getattr(exc, "errors", None) or [str(exc)])]

    def store(self, *, application: _App, kind: str, revision: int, calc: "_Calc", result: dict | None,
              errors: list[str], own_claim_ids: set[int], committed: dict[int, Decimal], claims: dict, reason: str):
        """settlement._store in memory: the current settlement kept, or a new one (with its lines)."""
        if result is not None and result is calc.result:
            result_text, result_hash = calc.result_text, calc.result_hash
        else:
            result_text, result_hash = _canonical(result if result is not None else {"errors": errors})
        settlement_hash = _basis_hash(calc.input_hash, result_hash, kind, own_claim_ids, committed, claims)
        current = self.current.get(application.pk)
        if current is not None and current.settlement_hash == settlement_hash:
            if current.revision != revision:
                current.revision = revision
                if current.pk is not None:
                    self.revisions[current.pk] = revision
            return current
        lines: list[_Line] = []
        sums = defaultdict(lambda: ZERO)
        policies: list[str] = []
        if result is not None:
            for position, row in enumerate(result["claims"]):
                claim_pk = int(str(row["id"])[1:])
                claim = claims[claim_pk]
                own = claim_pk in own_claim_ids
                amounts = {k: Decimal(str(row[k])) for k in MONEY_KEYS}
                paid_before = committed.get(claim_pk, ZERO) if own else ZERO
                payable = (amounts["assistance"] + amounts["tilted"] - claim.maf_pay - paid_before) if own else ZERO
                if row.get("policy") and row["policy"] not in policies:
                    policies.append(row["policy"])
                lines.append(_Line(
                    claim_id=claim_pk, position=position, in_application=own, category=row.get("category") or "",
                    route=row.get("route") or "", policy=row.get("policy") or "", notes=list(row.get("notes") or []),
                    maf_pay=claim.maf_pay, paid_before=paid_before, payable=payable, **amounts,
                ))
                if own:
                    for k, v in amounts.items():
                        sums[k] += v
                    sums["maf_paid"] += claim.maf_pay
                    sums["paid_before"] += paid_before
                    sums["payable"] += payable
        if current is not None:
            current.status = SettlementStatus.SUPERSEDED
            if current.pk is not None:
                self.superseded.append(current.pk)
        money = {}
        if result is not None:
            money = {k: sums[k] for k in (*MONEY_KEYS, "maf_paid", "paid_before", "payable")}
        settlement = Settlement(
            application_id=application.pk, kind=kind, status=SettlementStatus.CURRENT, revision=revision,
            year=application.year, reason=str(reason or "")[:200], input_hash=calc.input_hash,
            result_hash=result_hash, settlement_hash=settlement_hash, payload=calc.payload, result=result,
            errors=list(errors), policies=policies, year_totals=(result or {}).get("totals", {}),
            alerts=(result or {}).get("alerts", []), **money,
        )
        self.new_settlements.append(settlement)
        self.new_lines[id(settlement)] = lines
        texts = {"payload": calc.payload_text}
        if result is not None:
            texts["result"] = result_text
        self.texts[id(settlement)] = texts
        self.current[application.pk] = settlement
        return settlement

    def lines_of(self, settlement) -> list:
        if id(settlement) in self.new_lines:
            return self.new_lines[id(settlement)]
        return list(SettlementLine.objects.filter(settlement_id=settlement.pk).order_by("position"))


class _Calc:
    """One engine input of a person-year and its result (shared by the cases with the same input)."""

    __slots__ = ("payload", "payload_text", "input_hash", "result", "errors", "result_text", "result_hash")


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
        results = _chunk(pairs)
        if on_chunk is not None:
            on_chunk(pairs, results)
    return results


def _read(state: _Chunk, pairs) -> tuple:
    persons = sorted({p for p, _y in pairs})
    years = sorted({y for _p, y in pairs})
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # The cases of the chunk, locked in id order (as payment batches lock them).
    where_p, p1 = _in("person_id", persons)
    where_y, p2 = _in("year", years)
    apps = [a for a in map(_App, _rows(
        f"SELECT {', '.join(_App.COLUMNS)} FROM {_table(Application)} WHERE {where_p} AND {where_y} ORDER BY id{lock}",
        p1 + p2)) if (a.person_id, a.year) in pairs]
    where, params = _in("id", persons)
    people = {pk: (residence, scheme) for pk, residence, scheme in _rows(
        f"SELECT id, residence, scheme FROM {_table(Person)} WHERE {where}", params)}
    where, params = _in("person_id", persons)
    identities: dict[int, list] = defaultdict(list)
    for pk, person_id, category, start, end in _rows(
            f'SELECT id, person_id, category, start, "end" FROM {_table(Identity)} WHERE {where}', params):
        identities[person_id].append((start, category, pk, end))
    claims: dict[tuple[int, int], list[_Claim]] = defaultdict(list)
    if apps:
        import datetime

        lo, hi = datetime.date(years[0], 1, 1), datetime.date(years[-1], 12, 31)
        for row in _rows(f"SELECT {', '.join(_Claim.COLUMNS)} FROM {_table(Claim)} WHERE {where} "
                         f"AND date >= %s AND date <= %s ORDER BY date, id", params + [lo, hi]):
            c = _Claim(row)
            if (c.person_id, c.year) in pairs:
                claims[(c.person_id, c.year)].append(c)
    links: dict[int, list[int]] = defaultdict(list)      # case → its claims (every link)
    open_claims: dict[int, set[int]] = defaultdict(set)   # person → claims held by an open case
    where, params = _in("a.person_id", persons)
    for app_id, claim_id, active, app_state, person_id in _rows(
            f"SELECT l.application_id, l.claim_id, l.active, a.state, a.person_id FROM {_table(ApplicationClaim)} l "
            f"JOIN {_table(Application)} a ON a.id = l.application_id WHERE {where} ORDER BY l.id", params):
        links[app_id].append(claim_id)
        if active and app_state in CALCULABLE_STATES:
            open_claims[person_id].add(claim_id)
    app_ids = [a.pk for a in apps]
    if app_ids:
        where, params = _in("application_id", app_ids)
        for row in _rows(f"SELECT {', '.join(_Current.COLUMNS)} FROM {_table(Settlement)} WHERE {where} "
                         f"AND status = %s", params + [SettlementStatus.CURRENT]):
            current = _Current(row)
            state.current[current.application_id] = current
    settled_ids = [a.pk for a in apps if a.state in SETTLED_STATES]
    if settled_ids:
        # Pending adjustments are locked, as _recalculate_settled locks them (a payment batch may take them).
        list(Adjustment.objects.select_for_update().filter(application_id__in=settled_ids,
                                                            status=AdjustmentStatus.PENDING,
                                                            current_batch__isnull=True).values_list("id"))
        for adj in Adjustment.objects.filter(application_id__in=settled_ids).order_by("id"):
            state.adjustments[adj.application_id].append(adj)
    all_claims = sorted({c.pk for cs in claims.values() for c in cs}
                        | {claim_id for app_id in app_ids for claim_id in links.get(app_id, ())})
    if all_claims:
        where, params = _in("claim_id", all_claims)
        for claim_id, app_id, adj_id, amount in _rows(
                f"SELECT claim_id, application_id, adjustment_id, amount FROM {_table(ClaimAllocation)} "
                f"WHERE {where} ORDER BY id", params):
            state.allocate(claim_id, app_id, adj_id, amount)
    return apps, people, identities, claims, links, open_claims


def _chunk(pairs: dict[tuple[int, int], str]) -> dict[tuple[int, int], dict]:
    from django.utils.translation import gettext as _

    state = _Chunk()
    apps, people, identities, claims_by_pair, links, open_claims = _read(state, pairs)
    open_ids = [a.pk for a in apps if a.state in CALCULABLE_STATES]
    if open_ids:  # as recalculate_person_year: the open cases' revision moves on
        where, params = _in("id", open_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {_table(Application)} SET calc_revision = calc_revision + 1 WHERE {where}", params)
        for a in apps:
            if a.state in CALCULABLE_STATES:
                a.calc_revision += 1
    by_pair: dict[tuple[int, int], list[_App]] = defaultdict(list)
    for a in apps:
        by_pair[(a.person_id, a.year)].append(a)

    results: dict[tuple[int, int], dict] = {}
    for (person_id, year), reason in pairs.items():
        group = by_pair.get((person_id, year), [])
        if not group:
            results[(person_id, year)] = {"settled": [], "adjustments": []}
            continue
        claims = claims_by_pair.get((person_id, year), [])
        claim_map = {c.pk: c for c in claims}
        residence, scheme = people[person_id]
        items = [c.item for c in claims]
        periods = sorted(identities.get(person_id, []), key=lambda i: (i[0], i[1], i[2]))
        idents = [{"category": cat, "start": start.isoformat(), "end": end.isoformat() if end else None}
                  for start, cat, _pk, end in periods]
        memo: dict[str, _Calc] = {}

        def calculate(app: _App) -> _Calc:
            """build_payload + call_engine (skipped without claims, as settle_application does)."""
            payload = {
                "region": app.region_id,
                "person": {"residence": residence, "scheme": scheme, "identities": idents},
                "tilted_applied": bool(app.tilted_applied),
                "claims": items,
            }
            payload_text, input_hash = _canonical(payload)
            calc = memo.get(input_hash)
            if calc is None:
                calc = memo[input_hash] = _Calc()
                calc.payload, calc.payload_text, calc.input_hash = payload, payload_text, input_hash
                direct = (_direct_input(app.region_id, residence, scheme, periods, app.tilted_applied, claims)
                          if claims else None)
                calc.result, calc.errors = state.engine(payload, direct) if claims else (None, None)
                if calc.result is not None:
                    calc.result_text, calc.result_hash = _canonical(calc.result)
            return calc

        settled_now: list[int] = []
        for app in group:  # settle_application for each open case
            if app.state not in CALCULABLE_STATES:
                continue
            calc = calculate(app)
            result, errors = calc.result, calc.errors
            if not claims:
                result, errors = None, [_("The person has no claims in %(year)s.") % {"year": app.year}]
            own = set(links.get(app.pk, ()))
            committed = state.committed(own, exclude_application_id=app.pk)
            state.store(application=app, kind=SettlementKind.CASE, revision=app.calc_revision, calc=calc,
                        result=result, errors=errors, own_claim_ids=own, committed=committed, claims=claim_map,
                        reason=reason)
            settled_now.append(app.pk)

        # _attribution: the latest approved case holding a claim answers for it, unless an open one holds it.
        settled = sorted((a for a in group if a.state in SETTLED_STATES),
                         key=lambda a: (a.approved_at is None, a.approved_at, a.pk))
        owner: dict[int, int] = {}
        for app in settled:
            for claim_id in links.get(app.pk, ()):
                owner[claim_id] = app.pk
        attributed: dict[int, list[int]] = defaultdict(list)
        held = open_claims.get(person_id, set())
        for claim_id, app_id in owner.items():
            if claim_id not in held:
                attributed[app_id].append(claim_id)
        created: list[Adjustment] = []
        for app_id, claim_ids in attributed.items():
            app = next(a for a in settled if a.pk == app_id)
            if claims:
                adjustment = _recalculate_settled(state, app, claim_ids, calculate(app), claim_map, reason)
                if adjustment is not None:
                    created.append(adjustment)
        results[(person_id, year)] = {"settled": settled_now, "adjustments": created}

    _write(state)
    for value in results.values():
        value["adjustments"] = [a.pk for a in value["adjustments"]]
    return results


def _recalculate_settled(state: _Chunk, app: _App, claim_ids, calc: _Calc, claim_map, reason):
    """settlement._recalculate_settled in memory; returns the adjustment created or revived, if any."""
    own = set(claim_ids)
    result, errors = calc.result, calc.errors
    current = state.current.get(app.pk)
    if result is None:
        if current is None or current.errors != errors:
            state.store(application=app, kind=SettlementKind.RECALCULATION, revision=app.calc_revision, calc=calc,
                        result=None, errors=errors, own_claim_ids=own, committed={}, claims=claim_map,
                        reason=reason)
        return None
    adjustments = state.adjustments[app.pk]
    pending = [a for a in adjustments if a.status == AdjustmentStatus.PENDING and a.current_batch_id is None]
    pending_keys = {state.key(a) for a in pending}
    committed = state.committed(own, exclude_adjustment_keys=pending_keys)
    by_id = {int(str(r["id"])[1:]): r for r in result["claims"]}
    delta = sum(
        (Decimal(str(by_id[pk]["assistance"])) + Decimal(str(by_id[pk]["tilted"])) - claim_map[pk].maf_pay
         - committed.get(pk, ZERO)) for pk in own if pk in by_id
    ) or ZERO
    basis = _basis_hash(calc.input_hash, calc.result_hash, SettlementKind.RECALCULATION, own, committed, claim_map)
    existing = next((a for a in adjustments if a.basis_hash == basis), None)
    if existing is not None and existing.status != AdjustmentStatus.CANCELLED:
        return None  # this very change was adjusted already
    if delta == 0 and not pending:
        if current is not None and current.input_hash == calc.input_hash and current.result_hash == calc.result_hash:
            return None  # nothing changed since the last calculation
    state.drop_allocations(pending_keys)
    for adj in pending:
        adj.status = AdjustmentStatus.CANCELLED
        if adj.pk is not None:
            state.cancelled.append(adj.pk)
    settlement = state.store(application=app, kind=SettlementKind.RECALCULATION, revision=app.calc_revision,
                             calc=calc, result=result, errors=[], own_claim_ids=own, committed=committed,
                             claims=claim_map, reason=reason)
    if delta == 0:
        return None
    kind = AdjustmentKind.SUPPLEMENTARY if delta > 0 else AdjustmentKind.RECOVERY
    if existing is not None:  # the same difference as an adjustment cancelled earlier: revive it
        existing.status, existing.amount, existing.kind = AdjustmentStatus.PENDING, delta, kind
        existing.reason = str(reason or "")[:200]
        state.revived.append((existing, settlement))
        adjustment = existing
    else:
        adjustment = Adjustment(application_id=app.pk, amount=delta, basis_hash=basis, kind=kind,
                                reason=str(reason or "")[:200])
        adjustments.append(adjustment)
        state.new_adjustments.append((adjustment, settlement))
    key = state.key(adjustment)
    for line in state.lines_of(settlement):
        if line.in_application and line.payable != 0:
            state.new_allocations.append((ClaimAllocation(claim_id=line.claim_id, application_id=app.pk,
                                                          amount=line.payable), settlement, adjustment))
            state.allocate(line.claim_id, app.pk, key, line.payable)
    return adjustment


# --- Writing ------------------------------------------------------------------------------------


def _write(state: _Chunk) -> None:
    """The chunk's writes, in the order the constraints need (one current settlement per case, one
    adjustment per basis, one allocation per adjustment and claim)."""
    with connection.cursor() as cursor:
        if state.superseded:
            where, params = _in("id", state.superseded)
            cursor.execute(f"UPDATE {_table(Settlement)} SET status = %s WHERE {where}",
                           [SettlementStatus.SUPERSEDED] + params)
        if state.revisions:
            ids, revisions = list(state.revisions), list(state.revisions.values())
            if connection.vendor == "postgresql":
                cursor.execute(f"UPDATE {_table(Settlement)} s SET revision = v.revision "
                               f"FROM unnest(%s::bigint[], %s::int[]) AS v(id, revision) WHERE s.id = v.id",
                               [ids, revisions])
            else:
                for pk, revision in state.revisions.items():
                    cursor.execute(f"UPDATE {_table(Settlement)} SET revision = %s WHERE id = %s", [revision, pk])
    if state.new_settlements:
        _insert(Settlement, state.new_settlements, texts=state.texts)
        _insert_lines([(s.pk, state.new_lines[id(s)]) for s in state.new_settlements])
    if state.cancelled:
        ClaimAllocation.objects.filter(adjustment_id__in=state.cancelled).delete()
        Adjustment.objects.filter(pk__in=state.cancelled).update(status=AdjustmentStatus.CANCELLED)
    if state.revived:
        for adj, settlement in state.revived:
            adj.settlement_id = settlement.pk
        Adjustment.objects.bulk_update([adj for adj, _s in state.revived],
                                       ["status", "settlement", "amount", "kind", "reason"], batch_size=500)
    for adj, settlement in state.new_adjustments:
        adj.settlement_id = settlement.pk
    if state.new_adjustments:
        _insert(Adjustment, [adj for adj, _s in state.new_adjustments])
    if state.new_allocations:
        rows = []
        for allocation, settlement, adjustment in state.new_allocations:
            allocation.settlement_id = settlement.pk
            allocation.adjustment_id = adjustment.pk
            rows.append(allocation)
        _insert(ClaimAllocation, rows, ids=False)


def _insert(model, objs: list, *, ids: bool = True, texts: dict | None = None) -> None:
    """Insert model instances, setting their primary keys when ``ids``. On PostgreSQL with COPY (the
    keys reserved from the table's sequence first): ``bulk_create`` binds every value of the JSON
    columns as an element of a text array, which costs more than the engine itself here. Elsewhere
    with ``bulk_create``. Defaults must be on the instances (they are, from ``Model.__init__``); no
    signals are sent, as with ``bulk_create``. ``texts``: ``{id(obj): {attname: JSON text}}`` for JSON
    columns already serialised."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=500)
        return
    meta = model._meta
    pk_field = meta.pk
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, pk_field.column, len(objs)])
            for obj, (pk,) in zip(objs, cursor.fetchall()):
                obj.pk = pk
    fields = [f for f in meta.concrete_fields if ids or f is not pk_field]
    getters = []
    for f in fields:
        if f.get_internal_type() == "JSONField":
            def get_json(obj, a=f.attname):
                done = texts.get(id(obj)) if texts else None
                if done and a in done:
                    return done[a]
                return json.dumps(getattr(obj, a), ensure_ascii=False)
            getters.append(get_json)
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            getters.append(lambda obj, a=f.attname: getattr(obj, a) or timezone.now())
        else:
            getters.append(lambda obj, a=f.attname: getattr(obj, a))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {_table(model)} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for obj in objs:
                write(tuple(get(obj) for get in getters))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


_LINE_COLUMNS = ("settlement", "claim", "position", "in_application", "category", "route", "policy", *MONEY_KEYS,
                 "notes", "maf_pay", "paid_before", "payable")


def _insert_lines(groups) -> None:
    """The lines of the new settlements, ``[(settlement id, [_Line, …]), …]`` (COPY on PostgreSQL)."""
    if connection.vendor != "postgresql":
        SettlementLine.objects.bulk_create([
            SettlementLine(settlement_id=sid, **{k: getattr(line, k) for k in _Line.__slots__})
            for sid, lines in groups for line in lines], batch_size=500)
        return
    columns = ", ".join(connection.ops.quote_name(SettlementLine._meta.get_field(c).column) for c in _LINE_COLUMNS)
    notes_text: dict[tuple, str] = {}
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {_table(SettlementLine)} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for sid, lines in groups:
                for line in lines:
                    key = tuple(line.notes)
                    notes = notes_text.get(key)
                    if notes is None:
                        notes = notes_text[key] = json.dumps(line.notes, ensure_ascii=False)
                    write((sid, line.claim_id, line.position, line.in_application, line.category, line.route,
                           line.policy, line.total, line.policy_scope, line.basic_paid, line.critical_paid,
                           line.self_pay_in_scope, line.assistance, line.tilted, line.out_of_pocket, notes,
                           line.maf_pay, line.paid_before, line.payable))
