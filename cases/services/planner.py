"""The settlement planner: every money rule of settling a case and recalculating a person-year, once.

Pure Python — no ORM, no database, no I/O. The rows of one person-year go in (:class:`PersonYear`:
the person and their identities, the claims of the year, the cases of that year with their claim
links, the current settlements, the adjustments and the allocation ledger of those claims); what
must be written comes out (:class:`Plan`: settlements superseded or re-revisioned, new settlements
with their lines, adjustments cancelled, revived or created, allocations). Both ways of recalculating
use it and differ only in how they read and write:

* one case or one person-year: ``cases.services.settlement`` (the ORM);
* a chunk of person-years: ``cases.services.recalc_batch`` (set-based reads, ``COPY``).

The engine is called through its public API (``policies.engine``: ``build_input`` from the rows —
the same checks as ``parse_input`` without the JSON round trip —, ``settle``, ``result_to_dict``); the policy book comes from the caller (``books(region_code)``, e.g.
``policies.services.book_for``), which is the only thing the planner asks of the outside world.

The rules (see ``cases/services/settlement.py`` for the why):

* a case's settlement covers the person's whole year of claims; the case pays for its own claims:
  ``payable = A + G − maf_pay − paid_before`` per own claim, ``paid_before`` being what the ledger
  committed to the claim (earlier approvals and adjustments; for an open case, not itself);
* a new settlement is stored only when its settlement hash (input, result, kind, own claims, what
  was committed to them, what the hospital paid) differs from the current one's; otherwise the
  current one keeps its numbers and only takes the new revision;
* recalculation: each claim is answered for by the latest approved case holding it, unless an open
  case holds it; an approved case whose claims are now owed a different amount than committed gets
  ONE adjustment of exactly the difference (补发 > 0, 追回 < 0), keyed by the settlement hash
  (``basis_hash``) so the same change is never adjusted twice; pending adjustments not yet in a
  batch are cancelled and replaced by one of the new total difference (an earlier cancelled one of
  the same basis is revived); the adjustment's allocations are the own lines' non-zero payables.

Money inside is integer fen; callers convert at the edges (:func:`fen_decimal`, :func:`fen_text`).
"""
from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from policies import engine

# The values stored for these (cases.models' SettlementKind, SettlementStatus, AdjustmentStatus and
# AdjustmentKind; the planner imports no models). Which case states are open or settled is the
# reader's to say (``CaseRow.is_open`` / ``is_settled`` from ``CALCULABLE_STATES`` / ``SETTLED_STATES``).
CASE, RECALCULATION = "case", "recalculation"
PENDING, CANCELLED = "pending", "cancelled"
SUPPLEMENTARY, RECOVERY = "supplementary", "recovery"
CURRENT, SUPERSEDED = "current", "superseded"

MONEY_KEYS = ("total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
              "out_of_pocket")
SUM_KEYS = (*MONEY_KEYS, "maf_paid", "paid_before", "payable")
# The largest amount a money column stores (DecimalField(max_digits=14, decimal_places=2)), in fen.
MAX_STORED_FEN = 99_999_999_999_999
# Shown on the case when a year's amounts exceed it (the settlement is refused, never left "calculating").
# Stored like the engine's refusals: a problem (code, params, path), worded when shown (policies.messages).
TOO_LARGE = engine.Problem(engine.Code.CASE_TOO_LARGE, {}, None,
                           "the year's costs exceed the largest amount the portal records (999,999,999,999.99)").as_dict()
CAP_FLAGS = ("basic_cap_reached", "critical_cap_reached", "assistance_cap_reached", "tilted_cap_reached")


# --- Money and canonical JSON ----------------------------------------------------------------------


def fen_of(value: Decimal) -> int:
    """A Decimal amount with at most two decimals, in fen."""
    return int(value.scaleb(2))


def fen_decimal(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def fen_text(fen: int) -> str:
    """Fen as money text with two decimals (what ``f"{Decimal:.2f}"`` gives for the amount)."""
    if fen < 0:
        return "-" + fen_text(-fen)
    yuan, cents = divmod(fen, 100)
    return f"{yuan}.{cents:02d}"


def money_text(value) -> str:
    return f"{Decimal(value):.2f}"


def canonical(value) -> tuple[str, str]:
    """``(text, sha256 of the text)`` of the canonical JSON of ``value`` (sorted keys, compact, UTF-8);
    the text is also what may be stored in a JSON column."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_hash(value) -> str:
    return canonical(value)[1]


# --- What goes in ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ClaimRow:
    pk: int
    date: datetime.date
    kind: str
    special_disease: bool
    hospital_level: int
    location: str
    referral_compliant: bool
    total: Decimal
    policy_scope: Decimal
    basic_paid: Decimal | None
    critical_paid: Decimal | None
    maf_pay: Decimal
    maf_fen: int = field(init=False)

    def __post_init__(self):
        self.maf_fen = fen_of(self.maf_pay)

    def item(self) -> dict:
        """The claim as the engine's input (settlement.md); B and C only when known."""
        item = {
            "id": f"c{self.pk}", "date": self.date.isoformat(), "kind": self.kind,
            "special_disease": self.special_disease, "hospital_level": self.hospital_level,
            "location": self.location, "referral_compliant": self.referral_compliant,
            "total": money_text(self.total), "policy_scope": money_text(self.policy_scope),
        }
        if self.basic_paid is not None:
            item["basic_paid"] = money_text(self.basic_paid)
        if self.critical_paid is not None:
            item["critical_paid"] = money_text(self.critical_paid)
        return item

    def engine_claim(self) -> engine.Claim:
        """The claim as the engine's typed input (the same values as :meth:`item`, no JSON)."""
        return engine.Claim(id=f"c{self.pk}", date=self.date, kind=self.kind, total=self.total,
                            policy_scope=self.policy_scope, special_disease=self.special_disease,
                            hospital_level=self.hospital_level, location=self.location,
                            referral_compliant=self.referral_compliant, basic_paid=self.basic_paid,
                            critical_paid=self.critical_paid)


@dataclass(slots=True)
class IdentityRow:
    pk: int
    category: str
    start: datetime.date
    end: datetime.date | None


@dataclass(slots=True)
class CaseRow:
    pk: int
    is_open: bool                       # calculable (not yet approved): settled again
    is_settled: bool                    # approved or later: adjusted
    region_id: str
    tilted_applied: bool
    calc_revision: int
    approved_at: datetime.datetime | None
    claim_ids: tuple[int, ...]          # every claim linked to the case (its own claims)


@dataclass(slots=True)
class StoredSettlement:
    """The case's current settlement as stored (or as planned earlier in the same plan)."""
    pk: int | None
    settlement_hash: str
    revision: int
    errors: list
    input_hash: str
    result_hash: str


@dataclass(slots=True)
class StoredAdjustment:
    pk: int
    status: str
    in_batch: bool                      # in an open payment batch (``current_batch`` set)
    basis_hash: str


@dataclass(slots=True)
class PersonYear:
    """The rows one recalculation of a person's year reads."""
    person_id: int
    year: int
    residence: str
    scheme: str
    identities: list[IdentityRow]
    claims: list[ClaimRow]              # the person's claims of the year, by date then id
    cases: list[CaseRow]                # the person's cases of the year
    open_claims: frozenset[int]         # claims held (active link) by an open case of the person, any year
    current: dict[int, StoredSettlement]          # case → current settlement
    adjustments: dict[int, list[StoredAdjustment]]  # settled case → its adjustments, in id order
    allocations: list[tuple[int, int, int | None, int]]  # (claim, case, adjustment or None, fen), id order


# --- What comes out -------------------------------------------------------------------------------


@dataclass(slots=True)
class Line:
    claim_id: int
    position: int
    in_application: bool
    category: str
    route: str
    policy: str
    amounts: tuple[int, ...]            # MONEY_KEYS, fen
    notes: list[str]
    maf_fen: int
    paid_before_fen: int
    payable_fen: int
    caps: tuple[bool, bool, bool, bool]  # CAP_FLAGS


@dataclass(eq=False, slots=True)
class NewSettlement:
    application_id: int
    kind: str
    revision: int
    year: int
    reason: str
    calc: Calculation
    ok: bool
    errors: list[dict]
    settlement_hash: str
    result_hash: str
    sums: dict[str, int] | None         # SUM_KEYS in fen; None when refused
    lines: list[Line]
    status: str = CURRENT
    pk: int | None = None               # set by the writer

    @property
    def input_hash(self) -> str:
        return self.calc.input_hash

    @property
    def payload(self) -> dict:
        return self.calc.payload

    @property
    def result(self) -> dict | None:
        return self.calc.result if self.ok else None

    @property
    def policies(self) -> list[str]:
        return list(self.calc.policies) if self.ok else []

    @property
    def year_totals(self) -> dict:
        return self.calc.result.get("totals", {}) if self.ok else {}

    @property
    def alerts(self) -> list:
        return self.calc.result.get("alerts", []) if self.ok else []


@dataclass(eq=False, slots=True)
class NewAdjustment:
    application_id: int
    settlement: NewSettlement
    amount_fen: int
    basis_hash: str
    kind: str
    reason: str
    pk: int | None = None               # set by the writer


@dataclass(slots=True)
class Revival:
    """An adjustment cancelled earlier, for the same difference again: pending again."""
    pk: int
    settlement: NewSettlement
    amount_fen: int
    kind: str
    reason: str


@dataclass(slots=True)
class Allocation:
    claim_id: int
    application_id: int
    amount_fen: int
    settlement: NewSettlement
    adjustment: NewAdjustment | Revival


@dataclass
class Plan:
    """Everything to write, in the order the database's constraints need it: settlements superseded,
    revisions, new settlements and lines, adjustments cancelled (with their allocations), revived and
    created, allocations."""
    superseded: list[int] = field(default_factory=list)
    revisions: dict[int, int] = field(default_factory=dict)      # stored settlement → new revision
    settlements: list[NewSettlement] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    revived: list[Revival] = field(default_factory=list)
    adjustments: list[NewAdjustment] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)             # open cases settled
    adjusted: list[NewAdjustment | Revival] = field(default_factory=list)  # adjustments created or revived

    def extend(self, other: Plan) -> None:
        self.superseded += other.superseded
        self.revisions.update(other.revisions)
        self.settlements += other.settlements
        self.cancelled += other.cancelled
        self.revived += other.revived
        self.adjustments += other.adjustments
        self.allocations += other.allocations
        self.settled += other.settled
        self.adjusted += other.adjusted


# --- The engine -----------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Calculation:
    """One engine input of a case and the engine's answer."""
    payload: dict
    payload_text: str
    input_hash: str
    ok: bool = False
    errors: list[dict] = field(default_factory=list)   # problems (engine.Problem.as_dict())
    result: dict | None = None
    result_text: str = ""
    result_hash: str = ""
    claims: list = field(default_factory=list)      # engine.ClaimResult, in the result's order
    policies: list[str] = field(default_factory=list)
    paid: dict[int, int] = field(default_factory=dict)  # claim → A + G, fen


Books = Callable[[str], object]   # region code → engine.PolicyBook (may raise engine.PolicyError)


def build_payload(*, region_id: str, residence: str, scheme: str, identities: Iterable[IdentityRow],
                  tilted_applied: bool, claims: Iterable[ClaimRow]) -> dict:
    """The engine input (settlement.md) of a case: its region, the person (residence, scheme, every
    identity, by start, category and id), its tilted flag and the person's claims of the year."""
    return {
        "region": region_id,
        "person": {
            "residence": residence,
            "scheme": scheme,
            "identities": [
                {"category": i.category, "start": i.start.isoformat(), "end": i.end.isoformat() if i.end else None}
                for i in sorted(identities, key=lambda i: (i.start, i.category, i.pk))
            ],
        },
        "tilted_applied": bool(tilted_applied),
        "claims": [c.item() for c in claims],
    }


def engine_input(*, region_id: str, residence: str, scheme: str, identities: Iterable[IdentityRow],
                 tilted_applied: bool, claims: Iterable[ClaimRow]) -> engine.SettlementInput:
    """The engine's typed input for the same values as :func:`build_payload` (identities in the
    same order), built by ``engine.build_input`` from the rows without a JSON round trip; raises
    ``engine.InputError`` exactly where ``engine.parse_input(build_payload(...))`` would."""
    person = engine.Person(residence=residence, scheme=scheme, identities=[
        engine.Identity(category=i.category, start=i.start, end=i.end)
        for i in sorted(identities, key=lambda i: (i.start, i.category, i.pk))])
    return engine.build_input(region=region_id, person=person, claims=[c.engine_claim() for c in claims],
                              tilted_applied=bool(tilted_applied))


def run_engine(payload: dict, books: Books, *, typed: Callable[[], engine.SettlementInput] | None = None):
    """``(engine.SettlementResult, [])``, or ``(None, messages)`` when the engine refuses (bad input,
    no policy in force, an unset parameter) — the input checked by ``engine.parse_input``, or, when
    the caller has the rows, built by ``typed()`` (:func:`engine_input`) with the same checks."""
    try:
        inp = typed() if typed is not None else engine.parse_input(payload)
        return engine.settle(inp, books(inp.region)), []
    except engine.EngineError as exc:
        return None, [p.as_dict() for p in exc.problems]


def _run_unverified(payload: dict, books: Books, unverified: list[str]):
    """Settle a person whose residence and/or scheme is still to be verified (待核实, ""): the
    engine is asked with every value the unverified details may take. When all answers agree the
    settlement does not depend on them and is made; otherwise it is refused, saying what is missing
    and who can supply it — never computed on a guess."""
    import itertools

    from policies.engine.constants import RESIDENCES, SCHEMES

    values = {"residence": RESIDENCES, "scheme": SCHEMES}
    outcomes = []
    for combo in itertools.product(*(values[f] for f in unverified)):
        trial = {**payload, "person": {**payload["person"], **dict(zip(unverified, combo))}}
        outcomes.append(run_engine(trial, books))
    first_result, first_errors = outcomes[0]
    if first_result is not None and all(
            r is not None and engine.result_to_dict(r) == engine.result_to_dict(first_result) for r, _e in outcomes):
        return first_result, []
    if first_result is None and all(r is None and e == first_errors for r, e in outcomes):
        return None, first_errors  # refused whatever the details: the refusal does not depend on them
    return None, [engine.Problem(engine.Code.CASE_PERSON_UNVERIFIED, {"details": unverified}, "person",
                                 "person " + " and ".join(unverified) + " to be verified: the settlement depends "
                                 "on it").as_dict()]


def calculate(payload: dict, books: Books, *, has_claims: bool = True, no_claims_error: dict | None = None,
              canonical_payload: tuple[str, str] | None = None,
              typed: Callable[[], engine.SettlementInput] | None = None) -> Calculation:
    """Settle ``payload`` (without claims the engine is not asked: ``no_claims_error``).
    ``canonical_payload``: ``canonical(payload)`` when the caller has it already; ``typed``: builds
    the same input from rows (see :func:`run_engine`)."""
    payload_text, input_hash = canonical_payload or canonical(payload)
    calc = Calculation(payload=payload, payload_text=payload_text, input_hash=input_hash)
    if not has_claims:
        calc.errors = [no_claims_error or engine.Problem(engine.Code.CASE_NO_CLAIMS, {}, None, "no claims").as_dict()]
        return calc
    person = payload.get("person") if isinstance(payload.get("person"), dict) else {}
    unverified = [f for f in ("residence", "scheme") if f in person and not person[f]]
    if unverified:
        result, errors = _run_unverified(payload, books, unverified)
    else:
        result, errors = run_engine(payload, books, typed=typed)
    if result is None:
        calc.errors = errors
        return calc
    result_dict = engine.result_to_dict(result)
    if any(abs(Decimal(str(v))) * 100 > MAX_STORED_FEN for v in result_dict["totals"].values()):
        calc.errors = [TOO_LARGE]
        return calc
    calc.ok = True
    calc.result = result_dict
    calc.result_text, calc.result_hash = canonical(calc.result)
    calc.claims = list(result.claims)
    for c in result.claims:
        if c.policy and c.policy not in calc.policies:
            calc.policies.append(c.policy)
        calc.paid[int(c.id[1:])] = c.assistance_fen + c.tilted_fen
    return calc


# --- The ledger -----------------------------------------------------------------------------------


class Ledger:
    """The claim allocations of the person-year in memory: ``Σ amount`` per claim is what was
    committed to it. Adjustments are keyed by their id, or by the planned object when new."""

    def __init__(self, rows: Iterable[tuple[int, int, object, int]] = ()):
        self._by_claim: dict[int, list[list]] = defaultdict(list)
        self._by_adjustment: dict[object, set[int]] = defaultdict(set)
        for claim_id, app_id, adj, fen in rows:
            self.add(claim_id, app_id, adj, fen)

    def add(self, claim_id: int, app_id: int, adj, fen: int) -> None:
        self._by_claim[claim_id].append([app_id, adj, fen])
        if adj is not None:
            self._by_adjustment[adj].add(claim_id)

    def drop(self, adjustments: Iterable) -> None:
        for adj in adjustments:
            for claim_id in self._by_adjustment.pop(adj, ()):
                self._by_claim[claim_id] = [r for r in self._by_claim[claim_id] if r[1] != adj]

    def committed(self, claim_ids: Iterable[int], *, exclude_application: int | None = None,
                  exclude_adjustments: Iterable = ()) -> dict[int, int]:
        """Σ allocations per claim (only claims with an allocation counted), fen."""
        excluded = set(exclude_adjustments)
        out: dict[int, int] = {}
        for claim_id in claim_ids:
            for app_id, adj, fen in self._by_claim.get(claim_id, ()):
                if exclude_application is not None and app_id == exclude_application:
                    continue
                if adj is not None and adj in excluded:
                    continue
                out[claim_id] = out.get(claim_id, 0) + fen
        return out


# --- The rules ------------------------------------------------------------------------------------


def settlement_hash(input_hash: str, result_hash: str, kind: str, own: set[int], committed: dict[int, int],
                    maf: dict[int, int]) -> str:
    """Everything the stored numbers depend on: input, result, which claims the case pays, what was
    committed to them, what the hospital paid for them."""
    return canonical_hash({
        "input": input_hash,
        "result": result_hash,
        "kind": kind,
        "own": sorted(own),
        "committed": sorted((k, fen_text(v)) for k, v in committed.items() if k in own),
        "maf": sorted((pk, fen_text(maf[pk])) for pk in own if pk in maf),
    })


def _lines(calc: Calculation, own: set[int], committed: dict[int, int], maf: dict[int, int]):
    """The settlement's lines (every claim of the year, in the result's order) and the sums over the
    case's own claims (SUM_KEYS, fen)."""
    lines: list[Line] = []
    sums = dict.fromkeys(SUM_KEYS, 0)
    for position, c in enumerate(calc.claims):
        claim_id = int(c.id[1:])
        amounts = (c.total_fen, c.policy_scope_fen, c.basic_paid_fen, c.critical_paid_fen, c.self_pay_in_scope_fen,
                   c.assistance_fen, c.tilted_fen, c.out_of_pocket_fen)
        maf_fen = maf[claim_id]
        mine = claim_id in own
        if mine:
            paid_before = committed.get(claim_id, 0)
            payable = c.assistance_fen + c.tilted_fen - maf_fen - paid_before
            for key, fen in zip(MONEY_KEYS, amounts):
                sums[key] += fen
            sums["maf_paid"] += maf_fen
            sums["paid_before"] += paid_before
            sums["payable"] += payable
        else:
            paid_before = payable = 0
        lines.append(Line(claim_id, position, mine, c.category or "", c.route or "", c.policy or "", amounts,
                          list(c.notes or ()), maf_fen, paid_before, payable,
                          (c.basic_cap_reached, c.critical_cap_reached, c.assistance_cap_reached,
                           c.tilted_cap_reached)))
    return lines, sums


class _Planner:
    def __init__(self, plan: Plan, current: dict, ledger: Ledger, maf: dict[int, int], year: int, reason: str):
        self.plan, self.current, self.ledger, self.maf, self.year = plan, current, ledger, maf, year
        self.reason = str(reason or "")[:200]

    def store(self, case: CaseRow, kind: str, calc: Calculation, ok: bool, errors: list[dict], own: set[int],
              committed: dict[int, int]):
        """The settlement of ``case``: the current one when its hash is the same (new revision only),
        else a new one superseding it."""
        result_hash = calc.result_hash if ok else canonical_hash({"errors": errors})
        basis = settlement_hash(calc.input_hash, result_hash, kind, own, committed, self.maf)
        current = self.current.get(case.pk)
        if current is not None and current.settlement_hash == basis:
            if current.revision != case.calc_revision:
                current.revision = case.calc_revision
                if isinstance(current, StoredSettlement):
                    self.plan.revisions[current.pk] = case.calc_revision
            return current
        lines, sums = _lines(calc, own, committed, self.maf) if ok else ([], None)
        if current is not None:
            if isinstance(current, StoredSettlement):
                self.plan.superseded.append(current.pk)
            else:
                current.status = SUPERSEDED
        new = NewSettlement(case.pk, kind, case.calc_revision, self.year, self.reason, calc, ok, list(errors), basis,
                            result_hash, sums, lines)
        self.plan.settlements.append(new)
        self.current[case.pk] = new
        return new

    def settle_open(self, case: CaseRow, calc: Calculation) -> None:
        """settle_application: the open case's settlement, its own claims' ``paid_before`` being
        what the ledger holds for them from other cases."""
        own = set(case.claim_ids)
        committed = self.ledger.committed(own, exclude_application=case.pk)
        self.store(case, CASE, calc, calc.ok, calc.errors, own, committed)
        self.plan.settled.append(case.pk)

    def recalculate_settled(self, case: CaseRow, claim_ids: Iterable[int], calc: Calculation,
                            adjustments: list) -> None:
        """An approved case, for the claims it answers for: the difference between what they are owed
        now and what was committed to them becomes one adjustment."""
        own = set(claim_ids)
        current = self.current.get(case.pk)
        if not calc.ok:
            if current is None or current.errors != calc.errors:
                self.store(case, RECALCULATION, calc, False, calc.errors, own, {})
            return
        pending = [a for a in adjustments if a.status == PENDING and not a.in_batch]
        pending_keys = [_key(a) for a in pending]
        committed = self.ledger.committed(own, exclude_adjustments=pending_keys)
        delta = sum(calc.paid[pk] - self.maf[pk] - committed.get(pk, 0) for pk in own if pk in calc.paid)
        basis = settlement_hash(calc.input_hash, calc.result_hash, RECALCULATION, own, committed, self.maf)
        existing = next((a for a in adjustments if a.basis_hash == basis), None)
        if existing is not None and existing.status != CANCELLED:
            return  # this very change was adjusted already
        if (delta == 0 and not pending and current is not None and current.input_hash == calc.input_hash
                and current.result_hash == calc.result_hash):
            return  # nothing changed since the last calculation
        self.ledger.drop(pending_keys)
        for adj in pending:
            adj.status = CANCELLED
            if isinstance(adj, StoredAdjustment):
                self.plan.cancelled.append(adj.pk)
        settlement = self.store(case, RECALCULATION, calc, True, [], own, committed)
        if delta == 0:
            return
        kind = SUPPLEMENTARY if delta > 0 else RECOVERY
        if existing is not None:  # the same difference as an adjustment cancelled earlier: revive it
            existing.status = PENDING
            adjustment = Revival(existing.pk, settlement, delta, kind, self.reason)
            self.plan.revived.append(adjustment)
            key = existing.pk
        else:
            adjustment = NewAdjustment(case.pk, settlement, delta, basis, kind, self.reason)
            self.plan.adjustments.append(adjustment)
            adjustments.append(_PlannedAdjustment(adjustment))
            key = adjustment
        self.plan.adjusted.append(adjustment)
        lines = settlement.lines if isinstance(settlement, NewSettlement) else _lines(calc, own, committed,
                                                                                       self.maf)[0]
        # (a current settlement kept has the same settlement hash: the same result, own claims,
        # committed amounts and maf_pay — so the same lines as computed here)
        for line in lines:
            if line.in_application and line.payable_fen != 0:
                self.plan.allocations.append(Allocation(line.claim_id, case.pk, line.payable_fen, settlement,
                                                        adjustment))
                self.ledger.add(line.claim_id, case.pk, key, line.payable_fen)


class _PlannedAdjustment:
    """A planned adjustment among the case's adjustments (for the basis lookup)."""
    __slots__ = ("basis_hash", "in_batch", "new", "status")

    def __init__(self, new: NewAdjustment):
        self.new, self.status, self.in_batch, self.basis_hash = new, PENDING, False, new.basis_hash


def _key(adj) -> object:
    return adj.new if isinstance(adj, _PlannedAdjustment) else adj.pk


def attribution(settled: list[CaseRow], open_claims: frozenset[int]) -> dict[int, list[int]]:
    """Which approved case answers for each claim's difference: the latest approved case holding it —
    unless an open (not yet approved) case holds it, whose own settlement then absorbs it.
    ``settled`` in approval order."""
    owner: dict[int, int] = {}
    for case in settled:
        for claim_id in case.claim_ids:
            owner[claim_id] = case.pk
    out: dict[int, list[int]] = defaultdict(list)
    for claim_id, case_id in owner.items():
        if claim_id not in open_claims:
            out[case_id].append(claim_id)
    return out


def _approval_order(case: CaseRow):
    return (case.approved_at is None, case.approved_at or datetime.datetime.min, case.pk)


class Calculator:
    """Calculations of a person-year's cases, shared by cases with the same engine input."""

    def __init__(self, py: PersonYear, books: Books, no_claims_error: dict | None = None):
        self.py, self.books, self.no_claims_error = py, books, no_claims_error
        self.memo: dict[str, Calculation] = {}

    def __call__(self, case: CaseRow) -> Calculation:
        py = self.py
        values = dict(region_id=case.region_id, residence=py.residence, scheme=py.scheme,
                      identities=py.identities, tilted_applied=case.tilted_applied, claims=py.claims)
        payload = build_payload(**values)
        text_and_hash = canonical(payload)
        calc = self.memo.get(text_and_hash[1])
        if calc is None:
            calc = self.memo[text_and_hash[1]] = calculate(
                payload, self.books, has_claims=bool(py.claims), no_claims_error=self.no_claims_error,
                canonical_payload=text_and_hash, typed=lambda: engine_input(**values))
        return calc


def plan_case(py: PersonYear, case: CaseRow, calc: Calculation, *, reason: str) -> Plan:
    """Settle one open case (``settle_application``) with ``calc`` (its calculation, possibly made
    before the case was locked)."""
    plan = Plan()
    current = {k: v for k, v in py.current.items()}
    planner = _Planner(plan, current, Ledger(py.allocations), {c.pk: c.maf_fen for c in py.claims}, py.year, reason)
    planner.settle_open(case, calc)
    return plan


def plan_person_year(py: PersonYear, books: Books, *, reason: str, no_claims_error: dict | None = None) -> Plan:
    """Recalculate everything the person-year touches: every open case is settled again (their
    ``calc_revision`` already moved on, as the caller bumps it), and each approved case answers for
    its attributed claims (:func:`attribution`) with at most one adjustment."""
    plan = Plan()
    planner = _Planner(plan, dict(py.current), Ledger(py.allocations), {c.pk: c.maf_fen for c in py.claims},
                       py.year, reason)
    calculator = Calculator(py, books, no_claims_error)
    for case in sorted(py.cases, key=_approval_order):
        if case.is_open:
            planner.settle_open(case, calculator(case))
    settled = sorted((c for c in py.cases if c.is_settled), key=_approval_order)
    by_pk = {c.pk: c for c in settled}
    for case_id, claim_ids in attribution(settled, py.open_claims).items():
        if not py.claims:
            continue
        case = by_pk[case_id]
        planner.recalculate_settled(case, claim_ids, calculator(case), py.adjustments.setdefault(case_id, []))
    return plan
