"""Settling a case, recalculating a person-year, and the adjustments that follow.

A case's settlement covers the person's WHOLE calendar year of claims (the application's year) in
the case's region — the engine's deductibles and caps accumulate over the year — and the case pays
for its own claims only::

    payable = Σ over the case's claims (assistance A + tilted G) − maf_pay − paid_before

where ``maf_pay`` is what the hospital already paid from the assistance fund (one-stop) and
``paid_before`` is what earlier approved cases and adjustments committed to the same claims (the
:class:`~cases.models.ClaimAllocation` ledger).

Public functions:

* :func:`settle_application` — what the Celery task ``cases.settle_application`` runs; idempotent
* :func:`inputs_changed` — call after anything a settlement depends on changed (claims, identities,
  the person's residence/scheme, the tilted flag): bumps the open cases' revision and enqueues
  their settlement on commit; optionally enqueues person-year recalculations
* :func:`recalculate_person_year` — for the exchange (backdated identities, retroactive policies):
  recomputes the open cases and turns differences on approved/paid cases into adjustments
* :func:`build_payload` — the engine input for a case (also used by the slip and the tests)

Recalculation never changes an approved case's settlement (``Application.approved_settlement``);
it stores a ``recalculation`` settlement beside it and, when what the case's claims are owed now
differs from what has been committed to them, one :class:`~cases.models.Adjustment` of exactly the
difference (补发 positive, 追回 negative), keyed by the settlement hash so the same change is
never adjusted twice.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

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
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from . import planner
from .planner import canonical_hash  # noqa: F401 - the settlement hashes' serialisation, for callers

log = logging.getLogger(__name__)
MONEY_KEYS = planner.MONEY_KEYS


def year_claims(person_id: int, year: int):
    return Claim.objects.filter(
        person_id=person_id, date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31),
        voided_at__isnull=True,
    ).order_by("date", "id")


# --- Reading the planner's rows with the ORM --------------------------------------------------------


def claim_row(claim: Claim) -> planner.ClaimRow:
    return planner.ClaimRow(claim.pk, claim.date, claim.kind, claim.special_disease, claim.hospital_level,
                            claim.location, claim.referral_compliant, claim.total, claim.policy_scope,
                            claim.basic_paid, claim.critical_paid, claim.maf_pay)


def _identity_rows(person_id: int) -> list[planner.IdentityRow]:
    return [planner.IdentityRow(pk, category, start, end) for pk, category, start, end in
            Identity.objects.filter(person_id=person_id).values_list("pk", "category", "start", "end")]


def _case_row(app: Application, claim_ids) -> planner.CaseRow:
    return planner.CaseRow(app.pk, app.state in CALCULABLE_STATES, app.state in SETTLED_STATES, app.region_id,
                           bool(app.tilted_applied), app.calc_revision, app.approved_at, tuple(claim_ids))


def _stored(settlement: Settlement | None) -> planner.StoredSettlement | None:
    if settlement is None:
        return None
    return planner.StoredSettlement(settlement.pk, settlement.settlement_hash, settlement.revision,
                                    list(settlement.errors or []), settlement.input_hash, settlement.result_hash)


def _allocation_rows(claim_ids) -> list[tuple[int, int, int | None, int]]:
    return [(claim_id, app_id, adj_id, planner.fen_of(amount)) for claim_id, app_id, adj_id, amount in
            ClaimAllocation.objects.filter(claim_id__in=list(claim_ids)).order_by("id")
            .values_list("claim_id", "application_id", "adjustment_id", "amount")]


def build_payload(application: Application, *, claims: list[Claim] | None = None) -> tuple[dict, list[Claim]]:
    """The engine input for ``application``: its region, the person (residence, scheme, every
    identity), its tilted flag and the person's claims of the application's year, in date order."""
    person = application.person
    if claims is None:
        claims = list(year_claims(person.pk, application.year))
    payload = planner.build_payload(
        region_id=application.region_id, residence=person.residence, scheme=person.scheme,
        identities=_identity_rows(person.pk), tilted_applied=application.tilted_applied,
        claims=[claim_row(c) for c in claims])
    return payload, claims


def _no_claims_error(year: int) -> dict:
    """The stored refusal of a year without claims (a problem, worded when shown)."""
    from policies.engine import Code, Problem

    return Problem(Code.CASE_NO_CLAIMS, {"year": year}, None, f"The person has no claims in {year}.").as_dict()


def _books(region_code: str):
    from policies.services import book_for

    return book_for(region_code)


def calculate(payload: dict, *, has_claims: bool, year: int) -> planner.Calculation:
    """The engine's calculation of a case's input (the policy books of ``policies.services``)."""
    return planner.calculate(payload, _books, has_claims=has_claims, no_claims_error=_no_claims_error(year))


# --- Writing a plan with the ORM --------------------------------------------------------------------


def _settlement_fields(s: planner.NewSettlement) -> dict:
    money = {k: planner.fen_decimal(v) for k, v in s.sums.items()} if s.sums is not None else {}
    return dict(
        application_id=s.application_id, kind=s.kind, status=s.status, revision=s.revision, year=s.year,
        reason=s.reason, input_hash=s.input_hash, result_hash=s.result_hash, settlement_hash=s.settlement_hash,
        payload=s.payload, result=s.result, errors=list(s.errors), policies=s.policies, year_totals=s.year_totals,
        alerts=s.alerts, **money,
    )


def line_objects(settlement_id: int, lines: Iterable[planner.Line]) -> list[SettlementLine]:
    dec = planner.fen_decimal
    return [SettlementLine(
        settlement_id=settlement_id, claim_id=line.claim_id, position=line.position,
        in_application=line.in_application, category=line.category, route=line.route, policy=line.policy,
        notes=list(line.notes), maf_pay=dec(line.maf_fen), paid_before=dec(line.paid_before_fen),
        payable=dec(line.payable_fen), **{k: dec(v) for k, v in zip(planner.MONEY_KEYS, line.amounts)},
        **dict(zip(planner.CAP_FLAGS, line.caps)),
    ) for line in lines]


def write_plan(plan: planner.Plan) -> dict[int, Settlement]:
    """Store ``plan`` with the ORM, in the order the constraints need (one current settlement per
    case, one adjustment per basis, one allocation per adjustment and claim). Sets the planned
    objects' ``pk``; returns the new settlements by case."""
    dec = planner.fen_decimal
    if plan.superseded:
        Settlement.objects.filter(pk__in=plan.superseded).update(status=SettlementStatus.SUPERSEDED)
    for pk, revision in plan.revisions.items():
        Settlement.objects.filter(pk=pk).update(revision=revision)
    created: dict[int, Settlement] = {}
    lines: list[SettlementLine] = []
    for s in plan.settlements:
        obj = Settlement.objects.create(**_settlement_fields(s))
        s.pk = obj.pk
        created[s.application_id] = obj
        lines += line_objects(obj.pk, s.lines)
    SettlementLine.objects.bulk_create(lines, batch_size=500)
    if plan.cancelled:
        ClaimAllocation.objects.filter(adjustment_id__in=plan.cancelled).delete()
        Adjustment.objects.filter(pk__in=plan.cancelled).update(status=AdjustmentStatus.CANCELLED)
    for r in plan.revived:
        Adjustment.objects.filter(pk=r.pk).update(status=AdjustmentStatus.PENDING, settlement_id=r.settlement.pk,
                                                  amount=dec(r.amount_fen), kind=r.kind, reason=r.reason)
    for a in plan.adjustments:
        a.pk = Adjustment.objects.create(application_id=a.application_id, settlement_id=a.settlement.pk,
                                         amount=dec(a.amount_fen), basis_hash=a.basis_hash, kind=a.kind,
                                         reason=a.reason).pk
    ClaimAllocation.objects.bulk_create([
        ClaimAllocation(claim_id=x.claim_id, application_id=x.application_id, amount=dec(x.amount_fen),
                        settlement_id=x.settlement.pk, adjustment_id=x.adjustment.pk)
        for x in plan.allocations], batch_size=500)
    return created


# --- One case -----------------------------------------------------------------------------------------


def settle_application(application_id: int, *, reason: str = "") -> Settlement | None:
    """Calculate an open case and store the result as its current settlement. Idempotent: the
    same inputs and results give back the current settlement, never a second one.

    Approved (or later), rejected and withdrawn cases are left alone: an approved case keeps the
    settlement it was approved with. If the case changed while the engine ran (its
    ``calc_revision`` moved on), nothing is stored — the settlement enqueued by that change will be.
    """
    application = Application.objects.select_related("person").filter(pk=application_id).first()
    if application is None or application.state not in CALCULABLE_STATES:
        return None
    revision = application.calc_revision
    payload, claims = build_payload(application)
    calc = calculate(payload, has_claims=bool(claims), year=application.year)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application_id)
        if locked.state not in CALCULABLE_STATES or locked.calc_revision != revision:
            return None
        own = list(ApplicationClaim.objects.filter(application_id=application_id).order_by("id")
                   .values_list("claim_id", flat=True))
        current = Settlement.objects.filter(application=locked, status=SettlementStatus.CURRENT).first()
        person = application.person
        case = _case_row(locked, own)
        py = planner.PersonYear(
            person_id=person.pk, year=locked.year, residence=person.residence, scheme=person.scheme,
            identities=[], claims=[claim_row(c) for c in claims], cases=[case], open_claims=frozenset(),
            current={locked.pk: _stored(current)} if current is not None else {}, adjustments={},
            allocations=_allocation_rows(own))
        plan = planner.plan_case(py, case, calc, reason=reason)
        created = write_plan(plan)
    if locked.pk in created:
        return created[locked.pk]
    if current is not None and plan.revisions:
        current.revision = plan.revisions[current.pk]
    return current


# --- Scheduling ---------------------------------------------------------------------------------


def _enqueue_settlement(application_ids: Iterable[int], reason: str) -> None:
    """Record a ``cases.settle_application`` job per case in the caller's transaction (sent after
    commit through the outbox, ``portal.jobs``)."""
    from portal.jobs import enqueue

    for pk in sorted(set(application_ids)):
        enqueue("cases.settle_application", pk, str(reason))


def _enqueue_recalculation(person_id: int, years: Iterable[int], reason: str) -> None:
    from portal.jobs import enqueue

    for year in sorted(set(years)):
        enqueue("cases.recalculate_person_year", person_id, year, str(reason))


def inputs_changed(*, application_ids: Iterable[int] = (), person_id: int | None = None,
                   years: Iterable[int] | None = None, reason: str = "",
                   recalculate_years: Iterable[int] | None = None) -> list[int]:
    """Something a settlement depends on changed. Bumps ``calc_revision`` of the given open cases
    and of the person's open cases (of ``years`` when given) and enqueues their settlement on
    commit (outbox jobs). With ``recalculate_years``, also enqueues :func:`recalculate_person_year` for those of
    the years where the person has approved (or later) cases. Returns the ids of the cases bumped.

    Call it inside the transaction that made the change (the exchange does so after applying
    identity pushes)."""
    ids = set(application_ids)
    if person_id is not None:
        qs = Application.objects.filter(person_id=person_id, state__in=CALCULABLE_STATES)
        if years is not None:
            qs = qs.filter(year__in=list(years))
        ids |= set(qs.values_list("pk", flat=True))
    if ids:
        bumped = list(
            Application.objects.filter(pk__in=ids, state__in=CALCULABLE_STATES).values_list("pk", flat=True)
        )
        Application.objects.filter(pk__in=bumped).update(calc_revision=F("calc_revision") + 1)
        _enqueue_settlement(bumped, reason)
    else:
        bumped = []
    if person_id is not None and recalculate_years is not None:
        settled_years = set(
            Application.objects.filter(person_id=person_id, state__in=SETTLED_STATES, year__in=list(recalculate_years))
            .values_list("year", flat=True)
        )
        _enqueue_recalculation(person_id, settled_years, reason)
    return bumped


def person_years_changed(by_person: dict[int, set[int]], *, reason: str = "") -> list[int]:
    """Set-based :func:`inputs_changed` for many persons: ``{person_id: {year, …}}`` (imports)."""
    ids: list[int] = []
    person_ids = sorted(by_person)
    for i in range(0, len(person_ids), 1000):
        rows = Application.objects.filter(
            person_id__in=person_ids[i:i + 1000], state__in=CALCULABLE_STATES
        ).values_list("pk", "person_id", "year")
        ids += [pk for pk, person_id, year in rows if year in by_person[person_id]]
    return inputs_changed(application_ids=ids, reason=reason) if ids else []


# --- Recalculation after approval -------------------------------------------------------------------


def read_person_year(person_id: int, year: int, apps: list[Application]) -> planner.PersonYear:
    """The planner's rows of a person-year with the ORM (``apps``: its cases, already locked). The
    pending adjustments not in a batch are locked too (a payment batch may be taking them)."""
    from ..models import Person

    person = Person.objects.only("residence", "scheme").get(pk=person_id)
    claims = [claim_row(c) for c in year_claims(person_id, year)]
    app_ids = [a.pk for a in apps]
    links: dict[int, list[int]] = {pk: [] for pk in app_ids}
    for app_id, claim_id in ApplicationClaim.objects.filter(application_id__in=app_ids).order_by("id").values_list(
            "application_id", "claim_id"):
        links[app_id].append(claim_id)
    open_claims = frozenset(ApplicationClaim.objects.filter(
        active=True, application__person_id=person_id, application__state__in=CALCULABLE_STATES
    ).values_list("claim_id", flat=True))
    current = {s.application_id: _stored(s) for s in
               Settlement.objects.filter(application_id__in=app_ids, status=SettlementStatus.CURRENT)}
    settled_ids = [a.pk for a in apps if a.state in SETTLED_STATES]
    list(Adjustment.objects.select_for_update().filter(
        application_id__in=settled_ids, status=AdjustmentStatus.PENDING, current_batch__isnull=True).values_list("id"))
    adjustments: dict[int, list[planner.StoredAdjustment]] = {}
    for pk, app_id, status, batch_id, basis in Adjustment.objects.filter(application_id__in=settled_ids).order_by(
            "id").values_list("pk", "application_id", "status", "current_batch_id", "basis_hash"):
        adjustments.setdefault(app_id, []).append(planner.StoredAdjustment(pk, status, batch_id is not None, basis))
    claim_ids = {c.pk for c in claims} | {claim_id for ids in links.values() for claim_id in ids}
    return planner.PersonYear(
        person_id=person_id, year=year, residence=person.residence, scheme=person.scheme,
        identities=_identity_rows(person_id), claims=claims, cases=[_case_row(a, links[a.pk]) for a in apps],
        open_claims=open_claims, current=current, adjustments=adjustments,
        allocations=_allocation_rows(sorted(claim_ids)))


def recalculate_person_year(*, person_id: int, year: int, reason: str) -> dict:
    """Recalculate everything the person's ``year`` touches (after a backdated identity or a
    retroactive policy): the open cases of that year are settled again, and each approved (or
    later) case whose claims are now owed a different amount than was committed to them gets one
    adjustment of exactly the difference. Idempotent: running it again finds no difference.

    One transaction; the person-year's cases locked in id order (as payment batches lock them).
    Returns ``{"settled": [open cases settled again], "adjustments": [adjustments created]}``.
    """
    with transaction.atomic():
        apps = list(Application.objects.select_for_update().filter(person_id=person_id, year=year).order_by("id"))
        open_ids = [a.pk for a in apps if a.state in CALCULABLE_STATES]
        if open_ids:
            Application.objects.filter(pk__in=open_ids).update(calc_revision=F("calc_revision") + 1)
            for a in apps:
                if a.state in CALCULABLE_STATES:
                    a.calc_revision += 1
        if not apps:
            return {"settled": [], "adjustments": []}
        py = read_person_year(person_id, year, apps)
        plan = planner.plan_person_year(py, _books, reason=reason, no_claims_error=_no_claims_error(year))
        write_plan(plan)
    return {"settled": plan.settled, "adjustments": [a.pk for a in plan.adjusted]}


# --- Approval ---------------------------------------------------------------------------------------


def current_settlement(application: Application) -> Settlement | None:
    return Settlement.objects.filter(application=application, status=SettlementStatus.CURRENT).first()


def allocate_on_approval(application: Application, settlement: Settlement) -> None:
    """Commit the approved settlement's payable per claim to the ledger (inside the approval)."""
    ClaimAllocation.objects.bulk_create([
        ClaimAllocation(claim_id=line.claim_id, application=application, settlement=settlement, amount=line.payable,
                        created_at=timezone.now())
        for line in settlement.lines.filter(in_application=True)
    ])
