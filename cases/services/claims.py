"""Entering, correcting and deleting claims by hand (imports: ``cases.imports``).

Validation is form-ready: ``ValidationError({field: [message]})`` where each message names the
field — money ≥ 0 with at most two decimals, B + C ≤ P ≤ T, the date not in the future.
Every change re-settles the person's open cases of the claim's year (their settlement covers the
whole year).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..access import CASEWORK_ROLES, require
from ..models import EDITABLE_STATES, ApplicationClaim, Claim, ClaimAllocation, ClaimSource, Person
from . import settlement
from .errors import Conflict, NotFound
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


def create_claim(*, acting_user, person_id: int, application_id: int | None = None, **fields) -> Claim:
    """Enter a claim for a person (fields: see ``cases.services.values.CLAIM_FIELDS``); with
    ``application_id`` it is attached to that (draft or returned) application as well."""
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
        reason = _locked_reason(claim)
        if reason:
            raise Conflict(reason, code="claim_locked")
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


def delete_claim(*, acting_user, claim_id: int) -> None:
    """Delete a claim entered by mistake: only when no application holds it (detach it first)."""
    with transaction.atomic():
        claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
        if claim is None:
            raise NotFound(_("Claim not found."))
        require(acting_user, CASEWORK_ROLES, claim.region_id)
        if claim.application_links.exists() or claim.allocations.exists() or claim.settlement_lines.exists():
            raise Conflict(_("This claim is used by a case or a settlement; it cannot be deleted."), code="claim_in_use")
        year, person_id = claim.date.year, claim.person_id
        claim.delete()
        settlement.inputs_changed(person_id=person_id, years=[year], reason=_("claim deleted"))
