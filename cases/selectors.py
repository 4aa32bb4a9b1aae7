"""Every read of the cases part, region-scoped through ``portal.roles.scoping``.

For the UI and the API:

* :func:`visible_persons`, :func:`search_persons`, :func:`person_detail`
* :func:`visible_claims`, :func:`claims_for_person`
* :func:`visible_applications`, :func:`queue` (+ :data:`QUEUES`), :func:`case_detail`,
  :func:`allowed_actions`, :func:`slip_data`
* :func:`visible_batches`, :func:`batch_detail`, :func:`payable_applications`,
  :func:`visible_adjustments`, :func:`pending_adjustments`
* :func:`visible_imports`, :func:`claim_import_format`

Visibility: bureau roles (caseworker, reviewer, approver, payment officer, auditor) read the
cases, claims and persons of their regions; a department liaison reads persons of their region and
the cases waiting for their department's confirmation. Something outside the user's scope is
simply not found (the API answers 404), so nothing leaks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from policies import categories
from portal import permissions
from portal.roles.domain import Role
from portal.roles.scoping import region_prefixes, region_q, scope_queryset

from . import identity_numbers
from .access import CASE_READ_ROLES, PAYMENT_READ_ROLES, PAYMENT_ROLES, PERSON_READ_ROLES
from .models import (
    Adjustment,
    AdjustmentStatus,
    Application,
    ApplicationClaim,
    ApplicationEvent,
    Claim,
    ClaimImport,
    Identity,
    IdentityEntry,
    IdentityEntryStatus,
    PaymentBatch,
    PaymentLine,
    Person,
    RecoveryEntry,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from .models import (
    ApplicationState as S,
)
from .services.errors import CaseCode, Conflict, NotFound
from .services.workflow import allowed_actions  # noqa: F401  (re-exported for the UI)

PERSON_MATCH_LIMIT = 2000  # a name prefix matching more persons than this: type more of the name
MASKED = re.compile(r"^([0-9]{4})\*{2,}([0-9]{3}[0-9X])$")
FULL = re.compile(r"^[0-9]{17}[0-9X]$")


# --- Persons ---------------------------------------------------------------------------------------


def visible_persons(user) -> QuerySet[Person]:
    return scope_queryset(Person.objects.all(), user, roles=PERSON_READ_ROLES)


#: the last 4–6 characters of an identity number
TAIL = re.compile(r"^\d{3,5}[\dX]$")


def person_search_q(q: str) -> Q | None:
    """``q`` as a person condition: a full identity number (unique index), a masked one
    ``3607**********123X`` (first 4 + last 4, indexed key), the last 4–6 characters of the number,
    or any part of a name. (The last two read the region-scoped persons without an index.)"""
    text = identity_numbers.normalise(q or "")
    if not text:
        return None
    if FULL.match(text):
        return Q(id_number=text)
    m = MASKED.match(text)
    if m:
        return Q(id_mask_key=m.group(1) + m.group(2))
    if TAIL.match(text):
        # the last 4–6 characters of the identity number, as people read them off a card or a slip
        return Q(id_number__endswith=text)
    return Q(name__contains=(q or "").strip())  # any part of the name


def search_persons(user, q: str = "", *, region: str | None = None) -> QuerySet[Person]:
    """Persons the user may read, matching ``q`` (see :func:`person_search_q`), newest first."""
    qs = visible_persons(user).select_related("region", "household")
    cond = person_search_q(q)
    if cond is not None:
        qs = qs.filter(cond)
    if region:
        qs = qs.filter(region_q([_prefix(region)]))
    return qs.order_by("-id")


def identity_entries_to_decide(user) -> QuerySet[IdentityEntry]:
    """Identities entered by bureau staff and waiting for a second reviewer, that ``user`` may
    confirm or reject: persons of the regions where the user is a reviewer, not entered by the user
    (four eyes). Oldest first."""
    people = scope_queryset(Person.objects.all(), user, roles=[Role.REVIEWER])
    return (IdentityEntry.objects.filter(status=IdentityEntryStatus.PENDING, person__in=people.values("pk"))
            .exclude(entered_by=user).select_related("person", "person__region", "entered_by")
            .order_by("entered_at", "id"))


def identity_entries_of_person(person: Person, *, limit: int = 50) -> list[IdentityEntry]:
    """The person's identity entries (pending first, then the latest decisions); the caller has
    checked that the user may read the person."""
    entries = person.identity_entries.select_related("entered_by", "decided_by").order_by("-entered_at", "-id")
    rows = list(entries[:limit])
    return sorted(rows, key=lambda e: e.status != IdentityEntryStatus.PENDING)


@dataclass
class PersonDetail:
    person: Person
    identities: list[Identity]
    claims: list[Claim]
    applications: list[Application]
    can_view_full_id: bool


def person_detail(user, person_id: int) -> PersonDetail:
    from .access import can_view_full_id

    person = visible_persons(user).select_related("region", "household").filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    return PersonDetail(
        person=person,
        identities=list(person.identities.select_related("department").order_by("start", "id")),
        claims=list(visible_claims(user).filter(person=person).order_by("-date", "-id")[:500]),
        applications=list(visible_applications(user).filter(person=person).order_by("-id")[:200]),
        can_view_full_id=can_view_full_id(user, person),
    )


# --- Claims ----------------------------------------------------------------------------------------


def visible_claims(user) -> QuerySet[Claim]:
    return scope_queryset(Claim.objects.all(), user, roles=CASE_READ_ROLES)


def claims_for_person(user, person_id: int, *, year: int | None = None, unattached: bool = False) -> QuerySet[Claim]:
    """The person's claims (of ``year``), ``unattached``: only those no open case holds."""
    qs = visible_claims(user).filter(person_id=person_id)
    if year:
        qs = qs.filter(date__year=year)
    if unattached:
        qs = qs.exclude(application_links__active=True).filter(voided_at__isnull=True)
    return qs.order_by("date", "id")


def visible_imports(user) -> QuerySet[ClaimImport]:
    """A caseworker's own imports (superusers: all)."""
    if user.is_superuser:
        return ClaimImport.objects.all()
    return ClaimImport.objects.filter(uploaded_by=user)


def claim_import_format() -> list[dict]:
    """The national column mapping, for the format page (see cases/imports/README.md)."""
    from .imports.national import format_description

    return format_description()


# --- Applications ------------------------------------------------------------------------------------


def _prefix(region_code: str) -> str:
    from portal.regions.codes import scope_prefix

    return scope_prefix(region_code)


def visible_applications(user) -> QuerySet[Application]:
    """Cases the user may read: bureau roles in their regions, plus — for a liaison — the cases
    of their region waiting for their department's identity confirmation."""
    qs = scope_queryset(Application.objects.all(), user, roles=CASE_READ_ROLES)
    if user.is_superuser:
        return qs
    liaison_q = Q(pk__in=[])
    from portal.roles.scoping import grants

    for grant in grants(user):
        if grant.role != Role.LIAISON:
            continue
        cats = categories.owned_by(grant.department)
        if cats:
            liaison_q |= region_q([grant.prefix]) & Q(state=S.AWAITING_IDENTITY, pending_category__in=cats)
    if liaison_q == Q(pk__in=[]):
        return qs
    base = Application.objects.filter(region_q(region_prefixes(user, roles=CASE_READ_ROLES)) | liaison_q)
    return base


#: queue name → (label, role whose scope applies, states, ordering)
QUEUES: dict[str, tuple] = {
    "my_drafts": (gettext_lazy("My drafts and returned cases"), Role.CASEWORKER, (S.DRAFT, S.RETURNED), "-id"),
    "to_review": (gettext_lazy("To review"), Role.REVIEWER, (S.SUBMITTED, S.IN_REVIEW, S.AWAITING_IDENTITY), "id"),
    "to_approve": (gettext_lazy("To approve"), Role.APPROVER, (S.REVIEWED,), "id"),
    "to_pay": (gettext_lazy("To pay"), Role.PAYMENT_OFFICER, (S.APPROVED,), "id"),
    # 分办转办: the cases assigned to the user at their current stage (services.assignment)
    "assigned": (gettext_lazy("Assigned to me"), None, (S.SUBMITTED, S.IN_REVIEW, S.AWAITING_IDENTITY, S.REVIEWED),
                 "id"),
}


def queue(user, *, queue: str | None = None, state: str | list[str] | None = None, region: str | None = None,
          year: int | None = None, person_id: int | None = None, q: str = "") -> QuerySet[Application]:
    """Applications for a list: a named queue (:data:`QUEUES`; the queue's role decides the scope)
    or all the user may read, filtered by state(s), region (and below), year, person, and ``q``
    (a case number, or a person's identity number / masked number / name).

    Ordered for keyset pagination: work queues oldest first (``id``), otherwise newest first.
    Every filter combination is served by an index (state, region, id) / (created_by, state, id)
    / (year, region, id) / (person, year)."""
    if queue:
        if queue not in QUEUES:
            raise ValueError(queue)
        _label, role, states, _order = QUEUES[queue]
        if queue == "assigned":
            from .services.assignment import assigned_to

            qs = scope_queryset(assigned_to(user), user, roles=CASE_READ_ROLES)
        else:
            qs = scope_queryset(Application.objects.all(), user, roles=[role]).filter(state__in=states)
        if queue == "my_drafts":
            qs = qs.filter(created_by=user)
        if queue == "to_pay":
            qs = qs.filter(current_batch__isnull=True)
        if queue in ("to_review", "to_approve"):  # four eyes: never one's own case, nor one's own review
            qs = qs.exclude(created_by=user)
        if queue == "to_approve":
            qs = qs.exclude(reviewed_by=user)
    else:
        qs = visible_applications(user)
    if state:
        qs = qs.filter(state__in=[state] if isinstance(state, str) else list(state))
    if region:
        qs = qs.filter(region_q([_prefix(region)]))
    if year:
        qs = qs.filter(year=year)
    if person_id:
        qs = qs.filter(person_id=person_id)
    text = (q or "").strip()
    if text:
        qs = qs.filter(case_search_q(text))
    return qs.select_related("person", "region", "created_by").order_by(queue_ordering(queue))


def case_search_q(q: str) -> Q:
    """``q`` as a case condition: the case number, or the person's identity number / masked number /
    last 4–6 characters / part of the name (:func:`person_search_q`)."""
    text = (q or "").strip()
    if not text:
        return Q()
    cond = person_search_q(text)
    number_q = Q(number__in={text, text.upper()})
    if cond is not None:
        # Resolve the persons first (unique / mask-key / name index), so that the case query is
        # an index lookup on (person, year) OR the case number — not a scan with a subquery.
        person_ids = list(Person.objects.filter(cond).values_list("pk", flat=True)[:PERSON_MATCH_LIMIT])
        number_q |= Q(person_id__in=person_ids)
    return number_q


def queue_ordering(queue: str | None) -> str:
    return QUEUES[queue][3] if queue in QUEUES else "-id"


def get_application(user, application_id: int) -> Application:
    app = visible_applications(user).select_related("person", "region").filter(pk=application_id).first()
    if app is None:
        raise NotFound(_("Case not found."))
    return app


@dataclass
class CaseDetail:
    """Everything the case page shows. ``settlement`` is the one that counts: the approved one for
    approved (or later) cases, else the current one; ``recalculation`` is the latest
    recalculation of an approved case, when there is one."""

    application: Application
    person: Person
    identities: list[Identity]
    claims: list[Claim]
    settlement: Settlement | None
    lines: list[SettlementLine]
    recalculation: Settlement | None
    settlement_ready: bool
    settlement_problem: str
    events: list[ApplicationEvent]
    allowed_actions: list[str]
    adjustments: list[Adjustment]
    payments: list[PaymentLine]
    can_view_full_id: bool
    extra: dict = field(default_factory=dict)


def case_settlement(app: Application) -> Settlement | None:
    if app.approved_settlement_id:
        return app.approved_settlement
    return Settlement.objects.filter(application=app, status=SettlementStatus.CURRENT).first()


def settlement_status(app: Application, settlement: Settlement | None) -> tuple[bool, str]:
    if app.approved_settlement_id:
        return True, ""
    if settlement is None or settlement.revision != app.calc_revision:
        return False, _("The settlement is being calculated.")
    if settlement.refused:
        return False, "；".join(settlement.refusals())
    return True, ""


def case_detail(user, application_id: int, *, just_acted: bool = False) -> CaseDetail:
    """The case page's bundle. ``just_acted``: the user has just moved the case and may see the
    result even if the case thereby left their view (a liaison answering for an identity)."""
    from .access import can_view_full_id

    base = visible_applications(user)
    if just_acted and not base.filter(pk=application_id).exists():
        base = Application.objects.filter(events__actor=user).distinct()
    app = (
        base
        .select_related("person", "person__region", "region", "created_by", "reviewed_by", "approved_by",
                        "approved_settlement", "current_batch")
        .filter(pk=application_id).first()
    )
    if app is None:
        raise NotFound(_("Case not found."))
    settlement = case_settlement(app)
    ready, problem = settlement_status(app, settlement)
    recalculation = None
    if app.approved_settlement_id:
        recalculation = Settlement.objects.filter(
            application=app, status=SettlementStatus.CURRENT, kind="recalculation").first()
    lines = list(settlement.lines.select_related("claim").order_by("position")) if settlement else []
    claims = list(Claim.objects.filter(application_links__application=app).order_by("date", "id"))
    return CaseDetail(
        application=app,
        person=app.person,
        identities=list(app.person.identities.select_related("department").order_by("start", "id")),
        claims=claims,
        settlement=settlement,
        lines=lines,
        recalculation=recalculation,
        settlement_ready=ready,
        settlement_problem=problem,
        events=list(app.events.select_related("actor").order_by("id")),
        allowed_actions=allowed_actions(user, app),
        adjustments=list(app.adjustments.select_related("settlement", "current_batch").order_by("id")),
        payments=list(app.payment_lines.select_related("batch", "adjustment").order_by("id")),
        can_view_full_id=can_view_full_id(user, app.person),
    )


MONEY_FIELDS = ("total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
                "out_of_pocket", "maf_pay", "paid_before", "payable")


def slip_data(user, application_id: int) -> dict:
    """The one-page settlement slip (一单制) of a case, from its stored settlement (the approved
    one once approved): per claim of the case and in total the total cost, policy scope, basic
    insurance, critical-illness insurance, in-scope self-pay, medical assistance, tilted
    assistance, out of pocket, assistance already paid at the hospital, paid by earlier cases and
    payable; the policy documents cited; adjustments. These are the engine's numbers.
    Raises :class:`Conflict` when the case has no usable settlement yet."""
    app = get_application(user, application_id)
    settlement = case_settlement(app)
    ready, problem = settlement_status(app, settlement)
    if not ready or settlement is None:
        raise Conflict(problem or _("The settlement is being calculated."), code=CaseCode.SETTLEMENT_NOT_READY)
    lines = list(settlement.lines.filter(in_application=True).select_related("claim").order_by("position"))
    totals = {k: Decimal("0.00") for k in MONEY_FIELDS}
    rows = []
    for line in lines:
        claim = line.claim
        row = {
            "claim_id": claim.pk, "setl_id": claim.setl_id or "", "date": claim.date, "kind": claim.kind,
            "kind_label": claim.get_kind_display(), "hospital": claim.hospital_name, "category": line.category,
            "route": line.route, "policy": line.policy, "notes": list(line.notes),
        }
        for k in MONEY_FIELDS:
            value = getattr(line, k)
            row[k] = value
            totals[k] += value
        rows.append(row)
    from .services import adjustments as adjustment_service

    adjustments = [
        {"id": a.pk, "kind": a.kind, "kind_label": a.get_kind_display(), "amount": a.amount, "status": a.status,
         "created_at": a.created_at, "reason": adjustment_service.reason_text(a)}
        for a in app.adjustments.exclude(status=AdjustmentStatus.CANCELLED).order_by("id")
    ]
    # Recoveries deducted from this case's payments (一单制: the person sees what was kept back and why).
    deductions = [
        {"batch": e.payment_line.batch.number, "amount": e.amount, "state": e.state,
         "state_label": e.get_state_display(), "recovery_case": e.adjustment.application.number,
         "reason": adjustment_service.reason_text(e.adjustment)}
        for e in RecoveryEntry.objects.filter(payment_line__application=app, kind="offset")
        .exclude(state="void").select_related("payment_line__batch", "adjustment__application").order_by("id")
    ]
    person = app.person
    return {
        "application": {"id": app.pk, "number": app.number, "year": app.year, "state": app.state,
                        "state_label": app.get_state_display(), "region": app.region_id,
                        "region_name": app.region.name, "tilted_applied": app.tilted_applied},
        "person": {"id": person.pk, "name": person.name, "id_number_masked": person.masked_id_number,
                   "sex": person.get_sex_display(), "residence": person.get_residence_display(),
                   "scheme": person.get_scheme_display()},
        "settlement": {"id": settlement.pk, "computed_at": settlement.computed_at, "kind": settlement.kind,
                       "approved": settlement.pk == app.approved_settlement_id},
        "policies": sorted({line.policy for line in lines if line.policy}) or list(settlement.policies),
        "claims": rows,
        "totals": totals,
        "adjustments": adjustments,
        "adjustments_total": sum((a["amount"] for a in adjustments), Decimal("0.00")),
        "deductions": deductions,
        "deductions_total": sum((d["amount"] for d in deductions), Decimal("0.00")),
        "net_after_deductions": totals["payable"] + sum((a["amount"] for a in adjustments if a["kind"] == "supplementary"),
                                                        Decimal("0.00")) - sum((d["amount"] for d in deductions), Decimal("0.00")),
    }


# --- Payments ----------------------------------------------------------------------------------------


def visible_batches(user) -> QuerySet[PaymentBatch]:
    return scope_queryset(PaymentBatch.objects.all(), user, roles=PAYMENT_READ_ROLES).select_related("region", "created_by")


def visible_payment_lines(user) -> QuerySet[PaymentLine]:
    """Payment lines of the batches the user may read (region-scoped by the batch's region)."""
    return (scope_queryset(PaymentLine.objects.all(), user, roles=PAYMENT_READ_ROLES, field="batch__region")
            .select_related("batch", "batch__region", "application", "application__person"))


def batch_detail(user, batch_id: int) -> tuple[PaymentBatch, list[PaymentLine]]:
    batch = visible_batches(user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Payment batch not found."))
    lines = list(batch.lines.select_related("application", "application__person", "adjustment", "result_by").order_by("id"))
    return batch, lines


def bank_returns_of(user, batch_id: int):
    """The return files of a batch the user may read, newest first (without the stored rows)."""
    from .models import BankReturn

    batch = visible_batches(user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Payment batch not found."))
    return BankReturn.objects.filter(batch=batch).defer("valid_rows").select_related("uploaded_by", "batch")


def bank_return_detail(user, bank_return_id: int):
    """One return file whose batch the user may read (NotFound otherwise)."""
    from .models import BankReturn

    bank_return = (BankReturn.objects.filter(pk=bank_return_id, batch__in=visible_batches(user))
                   .defer("valid_rows").select_related("uploaded_by", "batch").first())
    if bank_return is None:
        raise NotFound(_("Bank return file not found."))
    return bank_return


def payable_applications(user, *, region: str | None = None) -> QuerySet[Application]:
    """Approved cases not in an open batch that the user may pay (the ``to_pay`` queue)."""
    return queue(user, queue="to_pay", region=region)


def last_failures(application_ids) -> dict:
    """For each case id, its latest failed regular payment line (batch, reason, when), if any: the
    待支付 list shows it beside a case being paid again."""
    out = {}
    for line in (PaymentLine.objects.filter(application_id__in=list(application_ids), adjustment__isnull=True,
                                            status="failed").select_related("batch").order_by("application_id", "-id")):
        out.setdefault(line.application_id, line)
    return out


def visible_adjustments(user) -> QuerySet[Adjustment]:
    return scope_queryset(Adjustment.objects.all(), user, roles=CASE_READ_ROLES, field="application__region").select_related(
        "application", "application__person", "settlement")


def pending_adjustments(user, *, region: str | None = None) -> QuerySet[Adjustment]:
    """Supplementary payments (补发) waiting for a batch, in the user's payment scope (with their reviews;
    only approved ones can be batched). Recoveries are receivables (``recoveries_to_collect``)."""
    qs = scope_queryset(Adjustment.objects.filter(status=AdjustmentStatus.PENDING, current_batch__isnull=True,
                                                  kind="supplementary"), user,
                        roles=PAYMENT_ROLES, field="application__region")
    if region:
        qs = qs.filter(region_q([_prefix(region)], field="application__region"))
    return qs.select_related("application", "application__person").prefetch_related("reviews").order_by("id")


# --- Payees, bank-account changes, 补发 to decide -------------------------------------------------------

#: Who reads the record of bank-account changes on the person page (auditors first; reviewers and
#: approvers decide payee changes; payment officers pay).
BANK_CHANGE_READ_ROLES = frozenset({Role.AUDITOR, Role.REVIEWER, Role.APPROVER, Role.PAYMENT_OFFICER})
DECIDER_ROLES = permissions.roles_for("cases.review_payment_change")


def bank_account_changes(user, person_id: int):
    """Every change of the person's bank details (who, when, old → new), newest first, for
    :data:`BANK_CHANGE_READ_ROLES` of the person's region; ``None`` for anyone else."""
    from .models import BankAccountChange

    person = scope_queryset(Person.objects.filter(pk=person_id), user, roles=BANK_CHANGE_READ_ROLES).first()
    if person is None:
        return None
    return list(BankAccountChange.objects.filter(person=person).select_related("changed_by").order_by("-changed_at", "-id"))


def visible_bank_account_changes(user):
    """All bank-account changes the user may read (auditors' and the audit log's entry point)."""
    from .models import BankAccountChange

    return scope_queryset(BankAccountChange.objects.all(), user, roles=BANK_CHANGE_READ_ROLES,
                          field="person__region").select_related("person", "changed_by").order_by("-changed_at", "-id")


def case_payee(user, application_id: int) -> dict:
    """The payee page of a case: the payee frozen at approval, the payee the case would get now
    (the person's current account), and every payee change (old → new) with who decided it."""
    from .services import payees

    app = get_application(user, application_id)
    return {
        "application": app,
        "frozen": app.approved_payee_account != "",
        "current": payees.current_payee(app),
        "changes": list(app.payee_changes.select_related("requested_by", "reviewed_by", "decided_by").order_by("-id")),
    }


def payee_changes_to_decide(user, *, region: str | None = None):
    """Open payee changes in the regions where the user reviews or approves."""
    from .models import OPEN_PAYEE_CHANGE_STATES, PayeeChange

    qs = scope_queryset(PayeeChange.objects.filter(state__in=OPEN_PAYEE_CHANGE_STATES), user, roles=DECIDER_ROLES,
                        field="application__region")
    if region:
        qs = qs.filter(region_q([_prefix(region)], field="application__region"))
    return qs.select_related("application", "application__person", "requested_by", "reviewed_by").order_by("id")


def supplements_to_decide(user, *, region: str | None = None, limit: int = 200) -> list[Adjustment]:
    """补发 not yet paid in the regions where the user reviews or approves, each with
    ``approval_state``, ``state_label``, ``reason_text`` and its reviews."""
    from .models import AdjustmentKind
    from .services import adjustments

    qs = scope_queryset(Adjustment.objects.filter(kind=AdjustmentKind.SUPPLEMENTARY, status=AdjustmentStatus.PENDING,
                                                  current_batch__isnull=True),
                        user, roles=DECIDER_ROLES, field="application__region")
    if region:
        qs = qs.filter(region_q([_prefix(region)], field="application__region"))
    out = list(qs.select_related("application", "application__person", "application__region")
               .prefetch_related("reviews__actor").order_by("id")[:limit])
    for adj in out:
        adj.approval_state = adjustments.approval_state(adj)
        adj.state_label = adjustments.STATE_LABELS[adj.approval_state]
        adj.reason_text = adjustments.reason_text(adj)
        adj.current_reviews = [r for r in adj.reviews.all() if r.amount == adj.amount and r.settlement_id == adj.settlement_id]
    return out


RECOVERY_READ_ROLES = permissions.roles_for("cases.view_recoveries")


def _with_recovery(adj: Adjustment) -> Adjustment:
    from .services import adjustments, recoveries

    adj.summary = recoveries.summary(adj)
    adj.reason_text = adjustments.reason_text(adj)
    adj.entries = list(adj.recovery_entries.all())
    return adj


def recoveries_of(user, *, region: str | None = None, open_only: bool = True, limit: int = 200) -> list[Adjustment]:
    """Recoveries (追回, receivables of the person) in the user's regions, each with ``summary``
    (owed, recovered, waived, in progress, outstanding), ``reason_text`` and ``entries``."""
    qs = scope_queryset(Adjustment.objects.filter(kind="recovery").exclude(status=AdjustmentStatus.CANCELLED), user,
                        roles=RECOVERY_READ_ROLES, field="application__region")
    if region:
        qs = qs.filter(region_q([_prefix(region)], field="application__region"))
    out = [_with_recovery(a) for a in qs.select_related("application", "application__person", "application__region")
           .prefetch_related("recovery_entries__created_by", "recovery_entries__decided_by",
                             "recovery_entries__payment_line__batch").order_by("-id")[:limit]]
    return [a for a in out if a.summary["outstanding"] > 0 or a.summary["in_progress"] > 0] if open_only else out


def waivers_to_decide(user):
    """Waivers of recoveries waiting for an approver of the region."""
    from .models import RecoveryEntry

    return (scope_queryset(RecoveryEntry.objects.filter(kind="waiver", state="requested"), user, roles=[Role.APPROVER],
                           field="adjustment__application__region")
            .select_related("adjustment", "adjustment__application", "adjustment__application__person", "created_by")
            .order_by("id"))


def case_money(user, application_id: int) -> dict:
    """What a case paid, what is owed back and what has been recovered (the case page's account):
    ``paid`` (transferred by the bank), ``deducted`` (recoveries deducted from its payments),
    ``supplements`` (补发 paid), ``owed`` / ``recovered`` / ``waived`` / ``outstanding`` of its
    recoveries, and the recoveries themselves."""

    app = get_application(user, application_id)
    lines = list(app.payment_lines.filter(status="paid"))
    recs = [_with_recovery(a) for a in app.adjustments.filter(kind="recovery").exclude(status=AdjustmentStatus.CANCELLED)
            .prefetch_related("recovery_entries__payment_line__batch", "recovery_entries__created_by",
                              "recovery_entries__decided_by").order_by("id")]
    zero = Decimal("0.00")
    total = {k: sum((a.summary[k] for a in recs), zero) for k in ("owed", "recovered", "waived", "in_progress", "outstanding")}
    return {
        "paid": sum((line.amount for line in lines if line.amount > 0), zero),
        "deducted": sum((line.deduction for line in lines), zero),
        "supplements": sum((line.amount + line.deduction for line in lines if line.kind == "supplementary"), zero),
        **total,
        "recoveries": recs,
    }


def claims_of_application(app: Application) -> QuerySet[Claim]:
    return Claim.objects.filter(application_links__application=app).order_by("date", "id")


def claim_amounts_computable(region_code: str, on=None) -> dict[str, bool]:
    """Whether the policy in force for ``region_code`` on ``on`` (default today) can compute a
    claim's basic-insurance (B) and critical-illness (C) payments when the hospital's statement
    does not give them: ``{"basic": …, "critical": …}``. False where the document has no such rule
    or leaves one of its values unset (赣州: no basic rule; its critical deductible is the
    province's), and where no policy is in force."""
    import datetime

    from django.utils import timezone

    from policies.engine import PolicyError
    from policies.engine.versions import Q_UNSET, Unset
    from policies.services import book_for

    day = on or timezone.localdate()
    try:
        cv = book_for(region_code).context().version_at(day.toordinal() if isinstance(day, datetime.date) else day)
    except PolicyError:
        cv = None
    if cv is None:
        return {"basic": False, "critical": False}
    basic = bool(getattr(cv, "basic", None))
    k = getattr(cv, "critical", None)
    critical = k is not None and not any(isinstance(getattr(k, name, None), Unset)
                                         for name in ("schemes", "segments", "cap")) \
        and getattr(getattr(k, "deductible", None), "kind", Q_UNSET) != Q_UNSET
    return {"basic": basic, "critical": critical}


#: engine notes (SettlementLine.notes) that say why a claim got no tilted assistance → the reason shown
TILTED_NOTE_REASONS = (
    ("倾斜救助需依申请", "not_applied"),
    ("医疗救助未达年度限额", "cap_not_reached"),
    ("超出倾斜救助就医地域范围", "outside_area"),
)
TILTED_REASON_TEXT = {
    "not_applied": gettext_lazy("Not applied for: tilted assistance is given only on application."),
    "cap_not_reached": gettext_lazy("Medical assistance has not yet reached its annual cap: tilted assistance is "
                                    "given only above it."),
    "outside_area": gettext_lazy("Treated outside the area tilted assistance covers (e.g. outside the province)."),
    "below_threshold": gettext_lazy("The out-of-pocket cost has not exceeded the tilted-assistance threshold, or the "
                                    "person's identity is not one tilted assistance covers."),
}


def return_reason(events) -> dict | None:
    """The last return of a returned case: ``{"comment", "actor", "at"}`` (for the top of the page)."""
    for event in reversed(list(events)):
        if event.to_state == S.RETURNED:
            return {"comment": event.comment, "actor": event.actor, "at": event.at}
    return None


def zero_tilted_reasons(application, settlement, lines) -> list[str]:
    """Why the case's tilted assistance (倾斜救助) is 0.00 — empty when it is not 0 or there is no
    settlement: not applied for, the assistance cap not yet reached, treated outside the covered
    area (the engine's notes on the case's own claims), else below the threshold."""
    if settlement is None or settlement.tilted is None or settlement.tilted != 0 or settlement.refused:
        return []
    found: list[str] = []
    for line in lines:
        if not line.in_application:
            continue
        for note in line.notes or []:
            for marker, key in TILTED_NOTE_REASONS:
                if marker in str(note) and key not in found:
                    found.append(key)
    if not found:
        found.append("below_threshold" if application.tilted_applied else "not_applied")
    return [str(TILTED_REASON_TEXT[key]) for key in found]


@dataclass
class YearClaim:
    """One claim of the person's year as the case page explains it: does it count toward the
    year's deductible and cap, which case holds it, and why."""

    claim: Claim
    counts: bool
    holder: Application | None
    this_case: bool
    why: str


def year_claims_of_case(app: Application) -> list[YearClaim]:
    """Every claim of the case's person and year (all regions: the annual deductible and cap are
    the person's), with why it counts or not. Voided claims are listed as not counting."""
    claims = list(
        Claim.objects.filter(person_id=app.person_id, date__year=app.year).select_related("voided_by").order_by("date", "id")
    )
    links = ApplicationClaim.objects.filter(claim__in=[c.pk for c in claims]).select_related("application")
    holders: dict[int, Application] = {}
    for link in links.order_by("active", "id"):  # an open case's link wins over a closed one's
        holders[link.claim_id] = link.application
    out = []
    for c in claims:
        holder = holders.get(c.pk)
        this_case = holder is not None and holder.pk == app.pk
        if c.voided_at is not None:
            why = _("Voided (%(reason)s): not counted.") % {"reason": c.void_reason}
        elif this_case:
            why = _("A claim of this case: settled and paid by this case.")
        elif holder is not None:
            why = _("Held by case %(case)s (%(state)s): paid there, but it counts toward this year's deductible and cap "
                    "here too — the policy adds up every settlement of the person's calendar year.") % {
                "case": holder.number or holder.pk, "state": holder.get_state_display()}
        else:
            why = _("In no case yet: it counts toward this year's deductible and cap all the same — the policy adds up "
                    "every settlement of the person's calendar year.")
        out.append(YearClaim(claim=c, counts=c.voided_at is None, holder=holder, this_case=this_case, why=why))
    return out
def stage_time_limits(apps) -> dict[int, dict]:
    """For each case of ``apps`` (a page) waiting past its region's time limit for its state
    (:class:`~cases.models_assignment.StageTimeLimit`, the nearest region up the tree that set one):
    ``{app_id: {"days": limit, "waited": days waited}}``. Cases of a region without a limit are
    never flagged: no default is invented."""
    from django.utils import timezone

    from .models_assignment import StageTimeLimit

    apps = list(apps)
    if not apps:
        return {}
    states = {a.state for a in apps}
    limits = {(lim.region_id, lim.state): lim.days for lim in StageTimeLimit.objects.filter(state__in=states)}
    if not limits:
        return {}
    now = timezone.now()
    out = {}
    for app in apps:
        code = app.region_id
        days = None
        for candidate in (code, code[:4] + "00", code[:2] + "0000"):  # county, city, province
            if (candidate, app.state) in limits:
                days = limits[(candidate, app.state)]
                break
        if days is None or app.state_changed_at is None:
            continue
        waited = (now - app.state_changed_at).days
        if waited > days:
            out[app.pk] = {"days": days, "waited": waited}
    return out


def assignees(apps) -> dict[int, object]:
    """app id → the user each case of ``apps`` is assigned to (分办), for a page of a list."""
    from .models_assignment import ACT_CODENAME, ApplicationAssignment

    ids = [a.pk for a in apps]
    if not ids:
        return {}
    grants = (ApplicationAssignment.objects.filter(content_object_id__in=ids, permission__codename=ACT_CODENAME)
              .select_related("user").order_by("id"))
    return {g.content_object_id: g.user for g in grants}


def count_estimate(qs) -> tuple[int, bool]:
    """How many rows ``qs`` holds (exact, or past 10 000 PostgreSQL's estimate): ``portal.lists``."""
    from portal.lists import count_estimate as estimate

    return estimate(qs)
