"""Entering, correcting and voiding claims by hand (imports: ``cases.imports``).

Validation is form-ready: ``ValidationError({field: [message]})`` where each message names the
field — money ≥ 0 with at most two decimals, B + C ≤ P ≤ T, the date not in the future.
Every change re-settles the person's open cases of the claim's year (their settlement covers the
whole year).

A claim is never deleted. One entered by mistake or twice is *voided* with a reason
(:func:`void_claim`): it stays on record (with who, when and why) but no settlement counts it any
more. A new claim identical to one already recorded — same person, date, hospital and amounts — is
refused with :class:`DuplicateClaim` unless the clerk confirms it (``confirm_duplicate=True``).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..access import CASEWORK_ROLES, require
from ..models import EDITABLE_STATES, ApplicationClaim, Claim, ClaimAllocation, ClaimSource, Person
from . import settlement
from .errors import CaseCode, Conflict, NotFound, ServiceError
from .values import CLAIM_FIELDS, clean_claim


def _locked_reason(claim: Claim) -> str | None:
    """Why the claim can no longer be changed, or None."""
    allocation = ClaimAllocation.objects.filter(claim=claim).select_related("application").first()
    if allocation is not None:
        return _("This claim was approved in case %(case)s; it can no longer be changed.") % {"case": allocation.application}
    link = (
        ApplicationClaim.objects.filter(claim=claim, active=True).exclude(application__state__in=EDITABLE_STATES)
        .select_related("application").first()
    )
    if link is not None:
        return _("This claim belongs to case %(case)s, which is under review; have it returned first.") % {"case": link.application}
    return None


#: What makes two claims the same hospital settlement entered twice.
DUPLICATE_FIELDS = ("date", "hospital_name", "total", "policy_scope", "basic_paid", "critical_paid", "maf_pay")


class DuplicateClaim(ServiceError):
    """The claim looks like one already recorded; ``duplicates`` are the recorded claims."""

    http_status = 409

    def __init__(self, message: str, *, duplicates: list[Claim]):
        super().__init__(message, code=CaseCode.CLAIM_DUPLICATE)
        self.duplicates = duplicates


def find_duplicates(*, person_id: int, cleaned: dict, exclude_id: int | None = None) -> list[Claim]:
    """Claims of the person, not voided, with the same date, hospital (ignoring spaces) and amounts."""
    qs = Claim.objects.filter(person_id=person_id, voided_at__isnull=True, date=cleaned.get("date"))
    for field in DUPLICATE_FIELDS:
        if field in ("date", "hospital_name"):
            continue
        value = cleaned.get(field)
        qs = qs.filter(**({f"{field}__isnull": True} if value is None else {field: value}))
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    hospital = "".join((cleaned.get("hospital_name") or "").split())
    return [c for c in qs.order_by("id") if "".join((c.hospital_name or "").split()) == hospital]


def create_claim(*, acting_user, person_id: int, application_id: int | None = None, confirm_duplicate: bool = False,
                 **fields) -> Claim:
    """Enter a claim for a person (fields: see ``cases.services.values.CLAIM_FIELDS``); with
    ``application_id`` it is attached to that (draft or returned) application as well.

    Raises :class:`DuplicateClaim` when the person already has the same claim (date, hospital,
    amounts), unless ``confirm_duplicate`` (the clerk saw the warning and confirms)."""
    unknown = set(fields) - set(CLAIM_FIELDS)
    if unknown:
        raise ValidationError({f: [_("Unknown field.")] for f in sorted(unknown)})
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    require(acting_user, CASEWORK_ROLES, person.region_id)
    cleaned, errors = clean_claim(fields)
    if errors:
        raise ValidationError(errors)
    if cleaned.get("setl_id") and Claim.objects.filter(setl_id=cleaned["setl_id"]).exists():
        raise ValidationError({"setl_id": [_("Settlement id %(id)s is already recorded.") % {"id": cleaned["setl_id"]}]})
    if not confirm_duplicate:
        duplicates = find_duplicates(person_id=person.pk, cleaned=cleaned)
        if duplicates:
            raise DuplicateClaim(
                _("The same claim (date, hospital and amounts) is already recorded for this person: %(claims)s. "
                  "Save it only if the person really had two such settlements.")
                % {"claims": "、".join(_claim_label(c) for c in duplicates)},
                duplicates=duplicates,
            )
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                person=person, region_id=person.region_id, source=ClaimSource.MANUAL, created_by=acting_user, **cleaned
            )
            if application_id is not None:
                from .applications import add_claims

                add_claims(acting_user=acting_user, application_id=application_id, claim_ids=[claim.pk])
            settlement.inputs_changed(person_id=person.pk, years=[claim.date.year], reason=_("claim entered"))
    except IntegrityError:
        if cleaned.get("setl_id") and Claim.objects.filter(setl_id=cleaned["setl_id"]).exists():
            raise ValidationError({"setl_id": [_("Settlement id %(id)s is already recorded.") % {"id": cleaned["setl_id"]}]}) from None
        raise
    return claim


def update_claim(*, acting_user, claim_id: int, **changes) -> Claim:
    """Correct a claim that no approved case holds and that is not under review."""
    unknown = set(changes) - set(CLAIM_FIELDS)
    if unknown:
        raise ValidationError({f: [_("Unknown field.")] for f in sorted(unknown)})
    with transaction.atomic():
        claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
        if claim is None:
            raise NotFound(_("Claim not found."))
        require(acting_user, CASEWORK_ROLES, claim.region_id)
        if claim.voided_at is not None:
            raise Conflict(_("This claim is voided; it can no longer be changed."), code=CaseCode.CLAIM_VOIDED)
        reason = _locked_reason(claim)
        if reason:
            raise Conflict(reason, code=CaseCode.CLAIM_LOCKED)
        data = {f: getattr(claim, f) for f in CLAIM_FIELDS}
        data.update(changes)
        cleaned, errors = clean_claim(data)
        if errors:
            raise ValidationError(errors)
        old_year = claim.date.year
        for field, value in cleaned.items():
            setattr(claim, field, value)
        try:
            with transaction.atomic():
                claim.save()
        except IntegrityError:
            raise ValidationError({"setl_id": [_("Settlement id %(id)s is already recorded.") % {"id": claim.setl_id}]}) from None
        settlement.inputs_changed(person_id=claim.person_id, years={old_year, claim.date.year}, reason=_("claim corrected"))
    return claim


def _claim_label(claim: Claim) -> str:
    label = f"{claim.date.isoformat()} {claim.hospital_name or ''} {claim.total:.2f}".replace("  ", " ")
    return f"{label}（{_('settlement id')} {claim.setl_id}）" if claim.setl_id else label


def void_claim(*, acting_user, claim_id: int, reason: str) -> Claim:
    """Void a claim entered by mistake or twice: it stays on record, with who, when and why, and no
    settlement counts it any more (the person's open cases of its year are recalculated). A draft
    or returned case holding it lets it go. A claim an approved case paid, or one under review, is
    refused (``claim_locked``), as for a correction."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for voiding the claim.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("At most 200 characters.")]})
    with transaction.atomic():
        claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
        if claim is None:
            raise NotFound(_("Claim not found."))
        require(acting_user, CASEWORK_ROLES, claim.region_id)
        if claim.voided_at is not None:
            raise Conflict(_("This claim is already voided."), code=CaseCode.CLAIM_VOIDED)
        locked = _locked_reason(claim)
        if locked:
            raise Conflict(locked, code=CaseCode.CLAIM_LOCKED)
        held_by = list(ApplicationClaim.objects.filter(claim=claim, active=True).values_list("application_id", flat=True))
        ApplicationClaim.objects.filter(claim=claim, active=True).delete()
        claim.voided_at = timezone.now()
        claim.voided_by = acting_user
        claim.void_reason = reason
        claim.save(update_fields=["voided_at", "voided_by", "void_reason", "updated_at"])
        settlement.inputs_changed(application_ids=held_by, person_id=claim.person_id, years=[claim.date.year],
                                  reason=_("claim voided"), recalculate_years=[claim.date.year])
    return claim
