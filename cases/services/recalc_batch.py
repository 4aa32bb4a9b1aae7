"""Recalculating many person-years at once: the set-based twin of
:func:`cases.services.settlement.recalculate_person_year`.

:func:`recalculate_person_years` gives, for every ``(person, year)``, exactly what calling
``recalculate_person_year`` for each in turn gives — the same settlements (same hashes, numbers and
lines), the same adjustments and allocations, the same revisions — but a chunk of person-years at
a time, in ONE transaction per chunk:

* one locking read of the chunk's cases (``SELECT … FOR UPDATE`` in id order, as payment batches
  lock them), one read each of the persons, identities, claims, claim links, current settlements,
  adjustments (pending ones locked) and allocations of the chunk;
* the engine in-process (``engine.settle`` with the books of ``policies.services.book_for``, fetched
  once per region and chunk), once per distinct engine input, on engine objects built straight from
  the rows read (no payload dict, no ``parse_input``);
* the canonical JSON texts the hashes are taken of — the engine input, its output, the settlement
  hash — written directly from those values (money in integer fen) instead of building dicts and
  serialising them with ``sort_keys``; the first calculation of every chunk is also serialised the
  dict-based way and compared, and a difference fails the chunk and switches the process to the
  dict-based path (person-years with a value ``parse_input`` would refuse always take it);
* the rules of ``settle_application`` / ``_recalculate_settled`` applied in memory, in the same
  order, in fen, the ledger (allocations) and the adjustments kept up to date as it goes;
* bulk writes: superseded settlements, new settlements and their lines (``COPY`` on PostgreSQL, the
  JSON columns as the texts already made), cancelled, revived and new adjustments, allocations;
  ``synchronous_commit`` off for the chunk's transaction (a crash can lose the last chunks committed,
  never part of one; their marks are lost with them and they are simply recalculated again).

A chunk is all or nothing: a worker killed half-way leaves no half-recalculated person-year, and
running the same chunk again finds nothing new (the settlement hash and the adjustment basis make it
idempotent, as on the per-person path). ``tests/faults/test_kill_recalculation.py`` kills workers in
the middle of it; ``bench/recalc/run.py`` compares it with the per-person path
(``bench/recalc/snapshot.py``).
"""
from __future__ import annotations

import decimal
import hashlib
import json
import logging
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
from .settlement import MONEY_KEYS, _basis_hash, _money

log = logging.getLogger(__name__)

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


_CENT = Decimal("0.01")
_CTX15 = decimal.Context(prec=15)


def _dec(value):
    """A money value read with a raw cursor, as the ORM gives it: PostgreSQL returns Decimals;
    SQLite returns floats and ints, which Django's converter turns into quantized Decimals."""
    if value is None or type(value) is Decimal:
        return value
    if isinstance(value, Decimal):
        return value
    return _CTX15.create_decimal_from_float(float(value) if not isinstance(value, int) else value).quantize(_CENT)


def _fen(value: Decimal | None) -> int | None:
    """A Decimal with at most two decimals in fen (exact; callers check the two decimals)."""
    return None if value is None else int(value.scaleb(2))


def _fs(fen: int) -> str:
    """``policies.engine.money.fen_str``: fen as a money string with two decimals."""
    if fen < 0:
        return "-" + _fs(-fen)
    return "%d.%02d" % divmod(fen, 100)


def _fen_text(text) -> int:
    """A money string of the engine's output ("1200.00") in fen."""
    return int(Decimal(str(text)).scaleb(2))


_JS: dict = {}


def _js(value) -> str:
    """``json.dumps(value, ensure_ascii=False)`` of a short string (or None), cached."""
    text = _JS.get(value)
    if text is None:
        if len(_JS) > 50_000:
            _JS.clear()
        text = _JS[value] = json.dumps(value, ensure_ascii=False)
    return text


_NOTES: dict = {}
_LABELS: dict = {}   # (category, policy, route, notes) → their JSON texts
_KL: dict = {}       # (kind, location) → the claim item's "kind" and "location" JSON texts


def _kl(kind, location) -> tuple[str, str]:
    value = _KL[(kind, location)] = (_js(kind), _js(location))
    return value


def _notes_text(notes: tuple) -> str:
    text = _NOTES.get(notes)
    if text is None:
        if len(_NOTES) > 50_000:
            _NOTES.clear()
        text = _NOTES[notes] = json.dumps(list(notes), ensure_ascii=False, separators=(",", ":"))
    return text


# The fast path builds the canonical JSON texts (payload, result, settlement hash) by hand instead of
# building dicts and serialising them; each chunk checks its first calculation against the dict-based
# serialisation, and a difference (say the engine's output grew a key) switches this process to the
# dict-based path for good and fails the chunk (the caller then recalculates it one by one).
_FAST = True


class _FastPathMismatch(RuntimeError):
    pass


def _mismatch(what: str, fast: str, slow: str) -> None:
    global _FAST
    _FAST = False
    log.error("recalc_batch: the hand-built %s differs from the canonical one; falling back to the dict-based "
              "path\nfast: %.500s\nslow: %.500s", what, fast, slow)
    raise _FastPathMismatch(f"hand-built {what} differs from the canonical serialisation")


class _Claim:
    """A claim of the year: the values read, maf_pay (Decimal and fen) and — when every value is
    one ``parse_input`` accepts — its engine input item as canonical JSON text (exactly
    ``settlement.claim_payload`` serialised) and as an engine ``Claim``."""

    __slots__ = ("pk", "person_id", "year", "maf_pay", "maf_fen", "raw", "text", "eng")
    COLUMNS = ("id", "person_id", "date", "kind", "special_disease", "hospital_level", "location",
               "referral_compliant", "total", "policy_scope", "basic_paid", "critical_paid", "maf_pay")

    def __init__(self, row, c, make_engine_claim):
        (pk, self.person_id, date, kind, special, level, location, referral, total, scope, basic, critical,
         maf) = row
        if type(total) is not Decimal or type(maf) is not Decimal:  # SQLite
            total, scope, basic, critical, maf = _dec(total), _dec(scope), _dec(basic), _dec(critical), _dec(maf)
        self.pk, self.year = pk, date.year
        self.maf_pay = maf
        self.raw = (date, kind, special, level, location, referral, total, scope, basic, critical)
        self.text = self.eng = None
        self.maf_fen = int(maf * 100)
        if (kind not in c.KINDS or location not in c.LOCATIONS or type(level) is not int
                or level not in c.HOSPITAL_LEVELS or type(special) is not bool or type(referral) is not bool
                or maf != maf.quantize(_CENT)):
            return
        tq, pq = total.quantize(_CENT), scope.quantize(_CENT)
        if tq != total or pq != scope or total < 0 or scope < 0 or scope > total:
            return
        parts = []
        if basic is not None:
            bq = basic.quantize(_CENT)
            if bq != basic or basic < 0 or basic > scope:
                return
            parts.append('"basic_paid":"%s"' % bq)
        if critical is not None:
            cq = critical.quantize(_CENT)
            if cq != critical or critical < 0 or critical > scope:
                return
            parts.append('"critical_paid":"%s"' % cq)
            if basic is not None and basic + critical > scope:
                return
        parts.append('"date":"%s","hospital_level":%d,"id":"c%d","kind":%s,"location":%s,"policy_scope":"%s",'
                     '"referral_compliant":%s,"special_disease":%s,"total":"%s"'
                     % (date.isoformat(), level, pk, *(_KL.get((kind, location)) or _kl(kind, location)), pq,
                        "true" if referral else "false", "true" if special else "false", tq))
        self.text = "{" + ",".join(parts) + "}"
        self.eng = make_engine_claim(f"c{pk}", date, kind, tq, pq, special, level, location, referral,
                                     None if basic is None else basic.quantize(_CENT),
                                     None if critical is None else critical.quantize(_CENT))

    def item(self) -> dict:
        """``settlement.claim_payload`` of this claim (the dict-based path)."""
        date, kind, special, level, location, referral, total, scope, basic, critical = self.raw
        item = {
            "id": f"c{self.pk}", "date": date.isoformat(), "kind": kind, "special_disease": special,
            "hospital_level": level, "location": location, "referral_compliant": referral,
            "total": _money(total), "policy_scope": _money(scope),
        }
        if basic is not None:
            item["basic_paid"] = _money(basic)
        if critical is not None:
            item["critical_paid"] = _money(critical)
        return item


_CLAIM_SLOTS = None


def _engine_claim_factory():
    """A function making ``policies.engine.Claim`` objects from values already checked (as
    ``_direct_input`` checks them): the dataclass's own constructor, or — when a trial object made
    by setting its slots directly equals one made by the constructor in every slot — that, which
    skips the constructor's per-field work."""
    global _CLAIM_SLOTS
    import datetime

    from policies import engine

    Claim_ = engine.Claim
    fields = ("id", "date", "kind", "total", "policy_scope", "special_disease", "hospital_level", "location",
              "referral_compliant", "basic_paid", "critical_paid")

    def fast(id, date, kind, total, scope, special, level, location, referral, basic, critical):
        o = new(Claim_)
        o.id, o.date, o.kind, o.total, o.policy_scope = id, date, kind, total, scope
        o.special_disease, o.hospital_level, o.location, o.referral_compliant = special, level, location, referral
        o.basic_paid, o.critical_paid = basic, critical
        o._ord, o._year = date.toordinal(), date.year
        o._t, o._p = int(total * 100), int(scope * 100)
        o._b = None if basic is None else int(basic * 100)
        o._c = None if critical is None else int(critical * 100)
        return o

    def slow(*values):
        return Claim_(**dict(zip(fields, values)))

    new = object.__new__
    if _CLAIM_SLOTS is None:
        slots = [name for klass in Claim_.__mro__ for name in getattr(klass, "__slots__", ())]
        _CLAIM_SLOTS = False
        if set(slots) == {*fields, "_ord", "_year", "_t", "_p", "_b", "_c"}:
            trials = [("c1", datetime.date(2023, 5, 6), "inpatient", Decimal("1234.50"), Decimal("1000.05"), True, 2,
                       "county", False, Decimal("300.00"), None),
                      ("c2", datetime.date(2024, 1, 1), "outpatient", Decimal("0.00"), Decimal("0.00"), False, 1,
                       "province", True, None, Decimal("0.01"))]
            _CLAIM_SLOTS = all(all(getattr(fast(*t), n) == getattr(slow(*t), n) for n in slots) for t in trials)
    return fast if _CLAIM_SLOTS else slow


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
        if claim.eng is None:
            return None
        out.append(claim.eng)
    return engine.SettlementInput(region=region, person=engine.Person(residence=residence, scheme=scheme,
                                                                      identities=periods),
                                  claims=out, statistics=None, tilted_applied=bool(tilted))


class _Calc:
    """One engine input of a person-year and its result (shared by the cases with the same input):
    the canonical payload text and hash; ``ok`` (the engine settled it) with the result's canonical
    text and hash, its rows ``(claim id, category, route, policy, notes, total, policy_scope,
    basic_paid, critical_paid, self_pay_in_scope, assistance, tilted, out_of_pocket)`` in fen, the
    totals' and alerts' JSON texts, the policies applied and ``paid`` (claim → assistance + tilted,
    fen); or the engine's refusal messages (``errors``)."""

    __slots__ = ("payload_text", "input_hash", "ok", "errors", "rows", "paid", "result_text", "result_hash",
                 "totals_text", "alerts_text", "policies")

    def set_result_dict(self, result: dict | None, errors) -> None:
        """The engine's output JSON (the dict-based path)."""
        self.ok, self.errors = result is not None, errors
        if result is None:
            return
        self.result_text, self.result_hash = _canonical(result)
        rows = []
        for r in result["claims"]:
            amounts = tuple(_fen_text(r[k]) for k in MONEY_KEYS)
            rows.append((int(str(r["id"])[1:]), r.get("category"), r.get("route"), r.get("policy"),
                         tuple(r.get("notes") or ()), *amounts))
        self._from_rows(rows)
        self.totals_text = json.dumps(result.get("totals", {}), ensure_ascii=False)
        self.alerts_text = json.dumps(result.get("alerts", []), ensure_ascii=False)

    def set_result(self, r, check: bool) -> None:
        """The engine's SettlementResult: the output JSON of ``engine.result_to_dict``, written
        directly (``check``: compared with the dict-based serialisation)."""
        self.ok, self.errors = True, []
        rows, parts = [], []
        labels = _LABELS
        for c in r.claims:
            notes = tuple(c.notes)
            key = (c.category, c.policy, c.route, notes)
            label = labels.get(key)
            if label is None:
                if len(labels) > 50_000:
                    labels.clear()
                label = labels[key] = (_js(c.category), _js(c.policy), _js(c.route), _notes_text(notes))
            amounts = (t, p, b, cr, sp, a, g, oop) = (
                c.total_fen, c.policy_scope_fen, c.basic_paid_fen, c.critical_paid_fen, c.self_pay_in_scope_fen,
                c.assistance_fen, c.tilted_fen, c.out_of_pocket_fen)
            rows.append((int(c.id[1:]), c.category, c.route, c.policy, notes, *amounts))
            if min(amounts) < 0:  # never from the engine; _fs writes the sign
                fs = _fs
                parts.append(
                    '{"assistance":"%s","basic_paid":"%s","category":%s,"critical_paid":"%s","id":"%s","notes":%s,'
                    '"out_of_pocket":"%s","policy":%s,"policy_scope":"%s","route":%s,"self_pay_in_scope":"%s",'
                    '"tilted":"%s","total":"%s"}'
                    % (fs(a), fs(b), label[0], fs(cr), c.id, label[3], fs(oop), label[1], fs(p), label[2], fs(sp),
                       fs(g), fs(t)))
                continue
            parts.append(
                '{"assistance":"%d.%02d","basic_paid":"%d.%02d","category":%s,"critical_paid":"%d.%02d","id":"%s",'
                '"notes":%s,"out_of_pocket":"%d.%02d","policy":%s,"policy_scope":"%d.%02d","route":%s,'
                '"self_pay_in_scope":"%d.%02d","tilted":"%d.%02d","total":"%d.%02d"}'
                % (*divmod(a, 100), *divmod(b, 100), label[0], *divmod(cr, 100), c.id, label[3], *divmod(oop, 100),
                   label[1], *divmod(p, 100), label[2], *divmod(sp, 100), *divmod(g, 100), *divmod(t, 100)))
        totals = r.totals_fen
        totals_text = "{" + ",".join('%s:"%s"' % (_js(k), _fs(totals[k])) for k in sorted(totals)) + "}"
        alerts_text = "[" + ",".join(
            '{"claim":%s,"kind":%s,"out_of_pocket":"%s","threshold":"%s"}'
            % (json.dumps(a.claim, ensure_ascii=False), _js(a.kind), _fs(a.out_of_pocket_fen), _fs(a.threshold_fen))
            for a in r.alerts) + "]"
        text = '{"alerts":%s,"claims":[%s],"region":%s,"totals":%s}' % (alerts_text, ",".join(parts),
                                                                       _js(r.region), totals_text)
        if check:
            from policies import engine

            slow = _canonical(engine.result_to_dict(r))[0]
            if slow != text:
                _mismatch("engine output", text, slow)
        self.result_text, self.result_hash = text, hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.totals_text, self.alerts_text = totals_text, alerts_text
        self._from_rows(rows)

    def _from_rows(self, rows) -> None:
        self.rows = rows
        self.paid = {row[0]: row[10] + row[11] for row in rows}
        policies: list[str] = []
        for row in rows:
            if row[3] and row[3] not in policies:
                policies.append(row[3])
        self.policies = policies


def _basis(input_hash: str, result_hash: str, kind: str, own_claim_ids, committed: dict[int, int],
           claims: dict[int, _Claim], check: bool = False) -> str:
    """``settlement._basis_hash`` with the amounts in fen, its canonical JSON written directly."""
    own = sorted(own_claim_ids)
    text = '{"committed":[%s],"input":%s,"kind":%s,"maf":[%s],"own":[%s],"result":%s}' % (
        ",".join('[%d,"%s"]' % (k, _fs(committed[k])) for k in own if k in committed),
        json.dumps(input_hash), _js(str(kind)),
        ",".join('[%d,"%s"]' % (pk, _fs(claims[pk].maf_fen)) for pk in own if pk in claims),
        ",".join(map(str, own)), json.dumps(result_hash))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if check:
        from policies.engine.money import fen_dec

        slow = _basis_hash(input_hash, result_hash, kind, own_claim_ids,
                           {k: fen_dec(v) for k, v in committed.items()}, claims)
        if slow != digest:
            _mismatch("settlement hash", text, slow)
    return digest


class _Chunk:
    """The state of one chunk: what was read, and what is to be written."""

    def __init__(self):
        self.current: dict[int, object] = {}                # application id → current settlement
        self.allocations: dict[int, list[list]] = defaultdict(list)  # claim → [[application, adjustment key, fen]]
        self.allocated: dict[object, set[int]] = defaultdict(set)     # adjustment key → its claims
        self.adjustments: dict[int, list[Adjustment]] = defaultdict(list)  # application id → all of them
        self.superseded: list[int] = []
        self.revisions: dict[int, int] = {}                 # stored settlement id → new revision
        self.new_settlements: list[Settlement] = []
        self.new_lines: dict[int, list[tuple]] = {}         # id(settlement) → its lines
        self.texts: dict[int, dict[str, str]] = {}          # id(settlement) → JSON columns already serialised
        self.cancelled: list[int] = []
        self.revived: list[tuple[Adjustment, object]] = []  # (adjustment, its new settlement)
        self.new_adjustments: list[tuple[Adjustment, object]] = []
        self.new_allocations: list[tuple[int, int, int, object, Adjustment]] = []
        self.books: dict = {}
        self.checked_basis = not _FAST   # the first settlement hash of the chunk is checked

    # -- the ledger ---------------------------------------------------------------------------

    @staticmethod
    def key(adjustment) -> object:
        return adjustment.pk if adjustment.pk is not None else id(adjustment)

    def committed(self, claim_ids, *, exclude_application_id=None, exclude_adjustment_keys=()) -> dict[int, int]:
        """settlement.committed_by_claim over the ledger in memory (its ``Sum`` per claim), in fen."""
        out: dict[int, int] = {}
        excluded = set(exclude_adjustment_keys)
        allocations = self.allocations
        for claim_id in claim_ids:
            for app_id, adj_key, amount in allocations.get(claim_id, ()):
                if exclude_application_id is not None and app_id == exclude_application_id:
                    continue
                if adj_key is not None and adj_key in excluded:
                    continue
                out[claim_id] = out.get(claim_id, 0) + amount
        return out

    def allocate(self, claim_id: int, app_id: int, adj_key, amount: int) -> None:
        self.allocations[claim_id].append([app_id, adj_key, amount])
        if adj_key is not None:
            self.allocated[adj_key].add(claim_id)

    def drop_allocations(self, adj_keys) -> None:
        for key in adj_keys:
            for claim_id in self.allocated.pop(key, ()):
                self.allocations[claim_id] = [r for r in self.allocations[claim_id] if r[1] != key]

    # -- the engine and _store ---------------------------------------------------------------------

    def book(self, region_code, statistics=None):
        from policies.services import book_for

        key = (region_code, json.dumps(statistics, sort_keys=True, default=str) if statistics else None)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = book_for(region_code, statistics)
        return book

    def engine(self, payload: dict | None, direct=None):
        """settlement.call_engine, with the chunk's books: ``(SettlementResult, [])`` for ``direct``
        (the engine input already built from the database's values), ``(result dict, [])`` for
        ``payload`` (parsed), or ``(None, errors)`` when refused."""
        from policies import engine
        from policies.services import SettlementRefused

        try:
            try:
                if direct is not None:
                    return engine.settle(direct, self.book(direct.region)), []
                return engine.settle_payload(payload, self.book), []
            except engine.EngineError as exc:
                raise SettlementRefused(exc.errors) from exc
        except SettlementRefused as exc:
            return None, [str(e) for e in (getattr(exc, "errors", None) or [str(exc)])]

    def store(self, *, application: _App, kind: str, revision: int, calc: _Calc, ok: bool, errors: list[str],
              own_claim_ids: set[int], committed: dict[int, int], claims: dict, reason: str):
        """settlement._store in memory: the current settlement kept, or a new one (with its lines)."""
        if ok:
            result_hash = calc.result_hash
        else:
            result_text, result_hash = _canonical({"errors": errors})
        check = not self.checked_basis
        self.checked_basis = True
        settlement_hash = _basis(calc.input_hash, result_hash, kind, own_claim_ids, committed, claims, check)
        current = self.current.get(application.pk)
        if current is not None and current.settlement_hash == settlement_hash:
            if current.revision != revision:
                current.revision = revision
                if current.pk is not None:
                    self.revisions[current.pk] = revision
            return current
        lines: list[tuple] = []
        money = {}
        if ok:
            sums = [0] * 11   # MONEY_KEYS, maf_paid, paid_before, payable
            for position, row in enumerate(calc.rows):
                claim_pk = row[0]
                if claim_pk in own_claim_ids:
                    maf = claims[claim_pk].maf_fen
                    paid_before = committed.get(claim_pk, 0)
                    payable = row[10] + row[11] - maf - paid_before
                    for i in range(8):
                        sums[i] += row[5 + i]
                    sums[8] += maf
                    sums[9] += paid_before
                    sums[10] += payable
                    lines.append((row, position, True, maf, paid_before, payable))
                else:
                    lines.append((row, position, False, claims[claim_pk].maf_fen, 0, 0))
            from policies.engine.money import fen_dec

            money = {k: fen_dec(v) for k, v in zip((*MONEY_KEYS, "maf_paid", "paid_before", "payable"), sums)}
        if current is not None:
            current.status = SettlementStatus.SUPERSEDED
            if current.pk is not None:
                self.superseded.append(current.pk)
        settlement = Settlement(
            application_id=application.pk, kind=kind, status=SettlementStatus.CURRENT, revision=revision,
            year=application.year, reason=str(reason or "")[:200], input_hash=calc.input_hash,
            result_hash=result_hash, settlement_hash=settlement_hash, payload=None, result=None,
            errors=list(errors), policies=list(calc.policies) if ok else [], year_totals=None, alerts=None, **money,
        )
        self.new_settlements.append(settlement)
        self.new_lines[id(settlement)] = lines
        self.texts[id(settlement)] = {
            "payload": calc.payload_text, "result": calc.result_text if ok else None,
            "year_totals": calc.totals_text if ok else "{}", "alerts": calc.alerts_text if ok else "[]",
        }
        self.current[application.pk] = settlement
        return settlement

    def lines_of(self, settlement) -> list[tuple[int, bool, int]]:
        """``(claim id, in_application, payable in fen)`` of the settlement's lines."""
        if id(settlement) in self.new_lines:
            return [(line[0][0], line[2], line[5]) for line in self.new_lines[id(settlement)]]
        return [(claim_id, own, _fen(_dec(payable))) for claim_id, own, payable in
                SettlementLine.objects.filter(settlement_id=settlement.pk).order_by("position")
                .values_list("claim_id", "in_application", "payable")]


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
        from policies.engine import constants

        engine_claim = _engine_claim_factory()
        for row in _rows(f"SELECT {', '.join(_Claim.COLUMNS)} FROM {_table(Claim)} WHERE {where} "
                         f"AND date >= %s AND date <= %s AND voided_at IS NULL ORDER BY date, id", params + [lo, hi]):
            key = (row[1], row[2].year)
            if key in pairs:
                claims[key].append(_Claim(row, constants, engine_claim))
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
        allocations, allocated = state.allocations, state.allocated
        for claim_id, app_id, adj_id, amount in _rows(
                f"SELECT claim_id, application_id, adjustment_id, amount FROM {_table(ClaimAllocation)} "
                f"WHERE {where} ORDER BY id", params):
            allocations[claim_id].append([app_id, adj_id, int((amount if type(amount) is Decimal else _dec(amount)) * 100)])
            if adj_id is not None:
                allocated[adj_id].add(claim_id)
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
    check = _FAST   # the chunk's first calculation is checked against the dict-based serialisation
    persons_done: dict[int, tuple] = {}
    for (person_id, year), reason in pairs.items():
        group = by_pair.get((person_id, year), [])
        if not group:
            results[(person_id, year)] = {"settled": [], "adjustments": []}
            continue
        claims = claims_by_pair.get((person_id, year), [])
        claim_map = {c.pk: c for c in claims}
        residence, scheme = people[person_id]
        person = persons_done.get(person_id)
        if person is None:
            person = persons_done[person_id] = _person(residence, scheme, identities.get(person_id, []))
        periods, person_text, engine_person = person
        claims_text = ",".join(c.text for c in claims) if all(c.text is not None for c in claims) else None
        memo: dict[str, _Calc] = {}

        def calculate(app: _App) -> _Calc:
            """build_payload + call_engine (skipped without claims, as settle_application does)."""
            nonlocal check
            region, tilted = app.region_id, bool(app.tilted_applied)
            fast = (_FAST and claims_text is not None and engine_person is not None and isinstance(region, str)
                    and len(region) == 6 and region.isdigit())
            if fast:
                payload_text = '{"claims":[%s],"person":%s,"region":%s,"tilted_applied":%s}' % (
                    claims_text, person_text, _js(region), "true" if tilted else "false")
                if check:
                    slow = _canonical(_payload(app, residence, scheme, periods, claims))[0]
                    if slow != payload_text:
                        _mismatch("engine input", payload_text, slow)
                input_hash = hashlib.sha256(payload_text.encode("utf-8")).hexdigest()
            else:
                payload = _payload(app, residence, scheme, periods, claims)
                payload_text, input_hash = _canonical(payload)
            calc = memo.get(input_hash)
            if calc is None:
                calc = memo[input_hash] = _Calc()
                calc.payload_text, calc.input_hash = payload_text, input_hash
                if not claims:
                    calc.ok, calc.errors = False, None
                elif fast:
                    from policies import engine

                    result, errors = state.engine(None, engine.SettlementInput(
                        region=region, person=engine_person, claims=[c.eng for c in claims], statistics=None,
                        tilted_applied=tilted))
                    if result is None:
                        calc.ok, calc.errors = False, errors
                    else:
                        calc.set_result(result, check)
                    check = False
                else:
                    direct = _direct_input(region, residence, scheme, periods, app.tilted_applied, claims)
                    result, errors = state.engine(payload, direct)
                    if direct is not None and result is not None:
                        from policies import engine

                        result = engine.result_to_dict(result)
                    calc.set_result_dict(result, errors)
            return calc

        settled_now: list[int] = []
        for app in group:  # settle_application for each open case
            if app.state not in CALCULABLE_STATES:
                continue
            calc = calculate(app)
            ok, errors = calc.ok, calc.errors
            if not claims:
                ok, errors = False, [_("The person has no claims in %(year)s.") % {"year": app.year}]
            own = set(links.get(app.pk, ()))
            committed = state.committed(own, exclude_application_id=app.pk)
            state.store(application=app, kind=SettlementKind.CASE, revision=app.calc_revision, calc=calc,
                        ok=ok, errors=errors, own_claim_ids=own, committed=committed, claims=claim_map,
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


def _person(residence, scheme, identities) -> tuple:
    """``(identities sorted as build_payload sorts them, the payload's "person" as canonical JSON text,
    the engine's Person)`` — the last two None when a value is one ``parse_input`` would refuse."""
    from policies import engine
    from policies.engine import constants as c

    periods = sorted(identities, key=lambda i: (i[0], i[1], i[2]))
    if residence not in c.RESIDENCES or scheme not in c.SCHEMES:
        return periods, None, None
    items, engine_periods = [], []
    for start, category, _pk, end in periods:
        if category not in c.CATEGORIES or (end is not None and end < start):
            return periods, None, None
        items.append('{"category":%s,"end":%s,"start":"%s"}'
                     % (_js(category), "null" if end is None else f'"{end.isoformat()}"', start.isoformat()))
        engine_periods.append(engine.Identity(category=category, start=start, end=end))
    text = '{"identities":[%s],"residence":%s,"scheme":%s}' % (",".join(items), _js(residence), _js(scheme))
    return periods, text, engine.Person(residence=residence, scheme=scheme, identities=engine_periods)


def _payload(app: _App, residence, scheme, periods, claims: list[_Claim]) -> dict:
    """``settlement.build_payload`` of the case (the dict-based path)."""
    return {
        "region": app.region_id,
        "person": {"residence": residence, "scheme": scheme, "identities": [
            {"category": cat, "start": start.isoformat(), "end": end.isoformat() if end else None}
            for start, cat, _pk, end in periods]},
        "tilted_applied": bool(app.tilted_applied),
        "claims": [c.item() for c in claims],
    }


def _recalculate_settled(state: _Chunk, app: _App, claim_ids, calc: _Calc, claim_map, reason):
    """settlement._recalculate_settled in memory; returns the adjustment created or revived, if any."""
    from policies.engine.money import fen_dec

    own = set(claim_ids)
    current = state.current.get(app.pk)
    if not calc.ok:
        errors = calc.errors
        if current is None or current.errors != errors:
            state.store(application=app, kind=SettlementKind.RECALCULATION, revision=app.calc_revision, calc=calc,
                        ok=False, errors=errors, own_claim_ids=own, committed={}, claims=claim_map,
                        reason=reason)
        return None
    adjustments = state.adjustments[app.pk]
    pending = [a for a in adjustments if a.status == AdjustmentStatus.PENDING and a.current_batch_id is None]
    pending_keys = {state.key(a) for a in pending}
    committed = state.committed(own, exclude_adjustment_keys=pending_keys)
    paid = calc.paid
    delta = sum(paid[pk] - claim_map[pk].maf_fen - committed.get(pk, 0) for pk in own if pk in paid)
    basis = _basis(calc.input_hash, calc.result_hash, SettlementKind.RECALCULATION, own, committed, claim_map)
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
                             calc=calc, ok=True, errors=[], own_claim_ids=own, committed=committed,
                             claims=claim_map, reason=reason)
    if delta == 0:
        return None
    kind = AdjustmentKind.SUPPLEMENTARY if delta > 0 else AdjustmentKind.RECOVERY
    amount = fen_dec(delta)
    if existing is not None:  # the same difference as an adjustment cancelled earlier: revive it
        existing.status, existing.amount, existing.kind = AdjustmentStatus.PENDING, amount, kind
        existing.reason = str(reason or "")[:200]
        state.revived.append((existing, settlement))
        adjustment = existing
    else:
        adjustment = Adjustment(application_id=app.pk, amount=amount, basis_hash=basis, kind=kind,
                                reason=str(reason or "")[:200])
        adjustments.append(adjustment)
        state.new_adjustments.append((adjustment, settlement))
    key = state.key(adjustment)
    for claim_id, in_application, payable in state.lines_of(settlement):
        if in_application and payable != 0:
            state.new_allocations.append((claim_id, app.pk, payable, settlement, adjustment))
            state.allocate(claim_id, app.pk, key, payable)
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
        from policies.engine.money import fen_dec

        _insert(ClaimAllocation, [
            ClaimAllocation(claim_id=claim_id, application_id=app_id, amount=fen_dec(amount),
                            settlement_id=settlement.pk, adjustment_id=adjustment.pk)
            for claim_id, app_id, amount, settlement, adjustment in state.new_allocations], ids=False)


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
        if texts:
            for obj in objs:
                for attname, text in texts.get(id(obj), {}).items():
                    setattr(obj, attname, None if text is None else json.loads(text))
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
    """The lines of the new settlements, ``[(settlement id, [line, …]), …]`` with each line
    ``(engine row, position, in_application, maf_pay, paid_before, payable)``, amounts in fen (COPY
    on PostgreSQL)."""
    if connection.vendor != "postgresql":
        from policies.engine.money import fen_dec

        objs = []
        for sid, lines in groups:
            for row, position, own, maf, paid_before, payable in lines:
                objs.append(SettlementLine(
                    settlement_id=sid, claim_id=row[0], position=position, in_application=own,
                    category=row[1] or "", route=row[2] or "", policy=row[3] or "", notes=list(row[4]),
                    **{k: fen_dec(v) for k, v in zip(MONEY_KEYS, row[5:13])},
                    maf_pay=fen_dec(maf), paid_before=fen_dec(paid_before), payable=fen_dec(payable)))
        SettlementLine.objects.bulk_create(objs, batch_size=500)
        return
    columns = ", ".join(connection.ops.quote_name(SettlementLine._meta.get_field(c).column) for c in _LINE_COLUMNS)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {_table(SettlementLine)} ({columns}) FROM STDIN") as copy:
            write, fs = copy.write_row, _fs
            for sid, lines in groups:
                for row, position, own, maf, paid_before, payable in lines:
                    write((sid, row[0], position, own, row[1] or "", row[2] or "", row[3] or "",
                           fs(row[5]), fs(row[6]), fs(row[7]), fs(row[8]), fs(row[9]), fs(row[10]), fs(row[11]),
                           fs(row[12]), _notes_text(row[4]), fs(maf), fs(paid_before), fs(payable)))
