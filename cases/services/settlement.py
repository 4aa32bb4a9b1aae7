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
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
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
    Settlement,
    SettlementKind,
    SettlementLine,
    SettlementStatus,
)

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
MONEY_KEYS = ("total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")


def canonical_hash(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def claim_payload(claim: Claim) -> dict:
    """One claim as the engine's input (settlement.md); B and C only when known."""
    item = {
        "id": claim.payload_id,
        "date": claim.date.isoformat(),
        "kind": claim.kind,
        "special_disease": claim.special_disease,
        "hospital_level": claim.hospital_level,
        "location": claim.location,
        "referral_compliant": claim.referral_compliant,
        "total": _money(claim.total),
        "policy_scope": _money(claim.policy_scope),
    }
    if claim.basic_paid is not None:
        item["basic_paid"] = _money(claim.basic_paid)
    if claim.critical_paid is not None:
        item["critical_paid"] = _money(claim.critical_paid)
    return item


def year_claims(person_id: int, year: int):
    return Claim.objects.filter(
        person_id=person_id, date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31),
        voided_at__isnull=True,
    ).order_by("date", "id")


def build_payload(application: Application, *, claims: list[Claim] | None = None) -> tuple[dict, list[Claim]]:
    """The engine input for ``application``: its region, the person (residence, scheme, every
    identity), its tilted flag and the person's claims of the application's year, in date order."""
    person = application.person
    identities = sorted(person.identities.all(), key=lambda i: (i.start, i.category, i.pk))
    if claims is None:
        claims = list(year_claims(person.pk, application.year))
    payload = {
        "region": application.region_id,
        "person": {
            "residence": person.residence,
            "scheme": person.scheme,
            "identities": [
                {"category": i.category, "start": i.start.isoformat(), "end": i.end.isoformat() if i.end else None}
                for i in identities
            ],
        },
        "tilted_applied": bool(application.tilted_applied),
        "claims": [claim_payload(c) for c in claims],
    }
    return payload, claims


def call_engine(payload: dict) -> tuple[dict | None, list[str]]:
    """``(result, [])`` or ``(None, errors)`` when the engine refuses (unset parameter, no policy
    in force, bad input). Statistics come from the database inside ``settle_payload``."""
    from policies.services import SettlementRefused, settle_payload

    try:
        return settle_payload(payload=payload), []
    except SettlementRefused as exc:
        return None, [str(e) for e in (getattr(exc, "errors", None) or [str(exc)])]


def committed_by_claim(claim_ids: Iterable[int], *, exclude_application_id: int | None = None,
                       exclude_adjustment_ids: Iterable[int] = ()) -> dict[int, Decimal]:
    """Σ allocations per claim: what approved cases and adjustments committed to each claim."""
    qs = ClaimAllocation.objects.filter(claim_id__in=list(claim_ids))
    if exclude_application_id is not None:
        qs = qs.exclude(application_id=exclude_application_id)
    exclude_adjustment_ids = list(exclude_adjustment_ids)
    if exclude_adjustment_ids:
        qs = qs.exclude(adjustment_id__in=exclude_adjustment_ids)
    return {row["claim_id"]: row["s"] for row in qs.values("claim_id").annotate(s=Sum("amount"))}


def _basis_hash(input_hash: str, result_hash: str, kind: str, own_claim_ids, committed: dict, claims: dict) -> str:
    """The settlement hash: everything the stored numbers depend on (input, result, which claims
    the case pays, what was committed to them, what the hospital paid)."""
    return canonical_hash({
        "input": input_hash,
        "result": result_hash,
        "kind": kind,
        "own": sorted(own_claim_ids),
        "committed": sorted((k, _money(v)) for k, v in committed.items() if k in own_claim_ids),
        "maf": sorted((pk, _money(claims[pk].maf_pay)) for pk in own_claim_ids if pk in claims),
    })


def _store(*, application: Application, kind: str, revision: int, payload: dict, input_hash: str,
           result: dict | None, errors: list[str], own_claim_ids: set[int], committed: dict[int, Decimal],
           claims: dict[int, Claim], reason: str) -> tuple[Settlement, bool]:
    """Create the settlement (superseding the current one) unless the current one has the same
    settlement hash. Must run inside a transaction holding the application's row lock.
    Returns ``(settlement, created)``."""
    result_hash = canonical_hash(result if result is not None else {"errors": errors})
    settlement_hash = _basis_hash(input_hash, result_hash, kind, own_claim_ids, committed, claims)
    current = Settlement.objects.filter(application=application, status=SettlementStatus.CURRENT).first()
    if current is not None and current.settlement_hash == settlement_hash:
        if current.revision != revision:
            current.revision = revision
            current.save(update_fields=["revision"])
        return current, False

    lines: list[SettlementLine] = []
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
            lines.append(SettlementLine(
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
        current.save(update_fields=["status"])
    money = {}
    if result is not None:
        money = {k: sums[k] for k in (*MONEY_KEYS, "maf_paid", "paid_before", "payable")}
    settlement = Settlement.objects.create(
        application=application, kind=kind, status=SettlementStatus.CURRENT, revision=revision,
        year=application.year, reason=str(reason or "")[:200], input_hash=input_hash, result_hash=result_hash,
        settlement_hash=settlement_hash, payload=payload, result=result, errors=list(errors), policies=policies,
        year_totals=(result or {}).get("totals", {}), alerts=(result or {}).get("alerts", []), **money,
    )
    for line in lines:
        line.settlement = settlement
    SettlementLine.objects.bulk_create(lines, batch_size=500)
    return settlement, True


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
    if not claims:
        from django.utils.translation import gettext as _

        result, errors = None, [_("The person has no claims in %(year)s.") % {"year": application.year}]
    else:
        result, errors = call_engine(payload)
    input_hash = canonical_hash(payload)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application_id)
        if locked.state not in CALCULABLE_STATES or locked.calc_revision != revision:
            return None
        own = set(ApplicationClaim.objects.filter(application_id=application_id).values_list("claim_id", flat=True))
        committed = committed_by_claim(own, exclude_application_id=application_id)
        settlement, _created = _store(
            application=locked, kind=SettlementKind.CASE, revision=revision, payload=payload, input_hash=input_hash,
            result=result, errors=errors, own_claim_ids=own, committed=committed,
            claims={c.pk: c for c in claims}, reason=reason,
        )
    return settlement


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


def _attribution(person_id: int, year: int, settled: list[Application]) -> dict[int, list[int]]:
    """Which approved case answers for each claim's difference: the latest approved case holding
    it — unless an open (not yet approved) case holds it, whose own settlement then absorbs it."""
    open_claims = set(
        ApplicationClaim.objects.filter(
            active=True, application__person_id=person_id, application__state__in=CALCULABLE_STATES
        ).values_list("claim_id", flat=True)
    )
    owner: dict[int, int] = {}
    for app in settled:  # ordered by approval: later ones win
        for claim_id in app.claim_links.values_list("claim_id", flat=True):
            owner[claim_id] = app.pk
    out: dict[int, list[int]] = defaultdict(list)
    for claim_id, app_id in owner.items():
        if claim_id not in open_claims:
            out[app_id].append(claim_id)
    return out


def _recalculate_settled(application: Application, claim_ids: list[int], reason: str) -> tuple[Adjustment | None, bool]:
    """Recalculate an approved case for the claims it answers for; adjust the difference.

    Pending adjustments not yet in a batch are not counted as committed: when the difference
    changes again before they are paid, they are cancelled and replaced by one adjustment of the
    new total difference (so a case never carries a supplementary and a recovery that cancel out).
    """
    payload, claims = build_payload(application)
    if not claims:
        return None, False
    result, errors = call_engine(payload)
    input_hash = canonical_hash(payload)
    own = set(claim_ids)
    claim_map = {c.pk: c for c in claims}
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.state not in SETTLED_STATES:
            return None, False
        current = Settlement.objects.filter(application=locked, status=SettlementStatus.CURRENT).first()
        if result is None:
            if current is None or current.errors != errors:
                _store(application=locked, kind=SettlementKind.RECALCULATION, revision=locked.calc_revision,
                       payload=payload, input_hash=input_hash, result=None, errors=errors, own_claim_ids=own,
                       committed={}, claims=claim_map, reason=reason)
            return None, False
        pending = list(Adjustment.objects.select_for_update().filter(
            application=locked, status=AdjustmentStatus.PENDING, current_batch__isnull=True))
        committed = committed_by_claim(own, exclude_adjustment_ids=[a.pk for a in pending])
        by_id = {int(str(r["id"])[1:]): r for r in result["claims"]}
        delta = sum(
            (Decimal(str(by_id[pk]["assistance"])) + Decimal(str(by_id[pk]["tilted"])) - claim_map[pk].maf_pay
             - committed.get(pk, ZERO)) for pk in own if pk in by_id
        ) or ZERO
        basis = _basis_hash(input_hash, canonical_hash(result), SettlementKind.RECALCULATION, own, committed, claim_map)
        existing = Adjustment.objects.filter(application=locked, basis_hash=basis).first()
        if existing is not None and existing.status != AdjustmentStatus.CANCELLED:
            return existing, False  # this very change was adjusted already
        if delta == 0 and not pending:
            if current is not None and current.input_hash == input_hash and current.result_hash == canonical_hash(result):
                return None, False  # nothing changed since the last calculation
        for adj in pending:
            ClaimAllocation.objects.filter(adjustment=adj).delete()
        if pending:
            Adjustment.objects.filter(pk__in=[a.pk for a in pending]).update(status=AdjustmentStatus.CANCELLED)
        settlement, _created = _store(
            application=locked, kind=SettlementKind.RECALCULATION, revision=locked.calc_revision, payload=payload,
            input_hash=input_hash, result=result, errors=[], own_claim_ids=own, committed=committed,
            claims=claim_map, reason=reason,
        )
        if delta == 0:
            return None, False
        kind = AdjustmentKind.SUPPLEMENTARY if delta > 0 else AdjustmentKind.RECOVERY
        if existing is not None:  # the same difference as an adjustment cancelled earlier: revive it
            existing.status, existing.settlement, existing.amount, existing.kind = (
                AdjustmentStatus.PENDING, settlement, delta, kind)
            existing.reason = str(reason or "")[:200]
            existing.save(update_fields=["status", "settlement", "amount", "kind", "reason"])
            adjustment = existing
        else:
            try:
                with transaction.atomic():
                    adjustment = Adjustment.objects.create(
                        application=locked, settlement=settlement, amount=delta, basis_hash=basis, kind=kind,
                        reason=str(reason or "")[:200],
                    )
            except IntegrityError:  # the same change was adjusted concurrently
                return Adjustment.objects.get(application=locked, basis_hash=basis), False
        ClaimAllocation.objects.bulk_create([
            ClaimAllocation(claim_id=line.claim_id, application=locked, adjustment=adjustment, settlement=settlement,
                            amount=line.payable)
            for line in settlement.lines.filter(in_application=True).exclude(payable=0)
        ])
        return adjustment, True


def recalculate_person_year(*, person_id: int, year: int, reason: str) -> dict:
    """Recalculate everything the person's ``year`` touches (after a backdated identity or a
    retroactive policy): the open cases of that year are settled again, and each approved (or
    later) case whose claims are now owed a different amount than was committed to them gets one
    adjustment of exactly the difference. Idempotent: running it again finds no difference.

    Returns ``{"settled": [open cases settled again], "adjustments": [adjustments created]}``.
    """
    apps = list(Application.objects.filter(person_id=person_id, year=year).order_by("approved_at", "id"))
    open_ids = [a.pk for a in apps if a.state in CALCULABLE_STATES]
    if open_ids:
        Application.objects.filter(pk__in=open_ids).update(calc_revision=F("calc_revision") + 1)
    settled_ids = []
    for pk in open_ids:
        if settle_application(pk, reason=reason) is not None:
            settled_ids.append(pk)
    settled = [a for a in apps if a.state in SETTLED_STATES]
    adjustments = []
    for app_id, claim_ids in _attribution(person_id, year, settled).items():
        app = next(a for a in settled if a.pk == app_id)
        adjustment, created = _recalculate_settled(app, claim_ids, reason)
        if created:
            adjustments.append(adjustment.pk)
    return {"settled": settled_ids, "adjustments": adjustments}


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
