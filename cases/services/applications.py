"""Creating and editing applications (cases) and attaching claims to them.

An application is for one person and one calendar year; its claims must be the person's claims of
that year and each claim belongs to at most one open application (database constraint
``claim_one_open_application``). Claims, the tilted flag and the payee can be changed while the
case is a draft or returned for correction. Every change re-settles the case on commit.
State changes go through :func:`cases.services.workflow.transition`.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..access import CASEWORK_ROLES, require
from ..models import EDITABLE_STATES, Application, ApplicationClaim, Claim, PayeeType, Person
from . import settlement
from .errors import CaseCode, Conflict, NotFound

EDITABLE_FIELDS = (
    "tilted_applied", "payee_type", "payee_name", "payee_bank", "payee_account", "agent_name", "agent_relation",
    "agent_phone", "note",
)
LIMITS = {"payee_name": 100, "payee_bank": 100, "payee_account": 40, "agent_name": 50, "agent_relation": 30, "agent_phone": 32}


def _clean(changes: dict) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for field, value in changes.items():
        if field == "tilted_applied":
            cleaned[field] = bool(value)
        elif field == "payee_type":
            if value not in PayeeType.values:
                errors[field] = [_("“%(value)s” is not one of: %(choices)s") % {"value": value, "choices": ", ".join(PayeeType.values)}]
            cleaned[field] = value
        elif field == "note":
            cleaned[field] = str(value or "").strip()
        else:
            text = str(value or "").strip()
            if field == "payee_account":
                text = re.sub(r"[\s-]", "", text)
                if text and not re.fullmatch(r"\d{8,32}", text):
                    errors[field] = [_("A bank account number has 8 to 32 digits.")]
            if len(text) > LIMITS[field]:
                errors[field] = [_("Longer than %(n)d characters.") % {"n": LIMITS[field]}]
            cleaned[field] = text
    if errors:
        raise ValidationError(errors)
    return cleaned


def _locked_editable(acting_user, application_id: int) -> Application:
    app = Application.objects.select_for_update().select_related("person").filter(pk=application_id).first()
    if app is None:
        raise NotFound(_("Case not found."))
    require(acting_user, CASEWORK_ROLES, app.region_id)
    if app.state not in EDITABLE_STATES:
        raise Conflict(
            _("Case %(case)s is “%(state)s”; it can be changed only as a draft or when returned for correction.")
            % {"case": app, "state": app.get_state_display()},
            code=CaseCode.NOT_EDITABLE,
        )
    return app


def create_application(*, acting_user, person_id: int, year: int, claim_ids=(), **fields) -> Application:
    """Open a draft case for ``person_id`` and ``year`` in the person's region (fields: tilted_applied,
    payee_type, payee_name/bank/account for a hospital payee, agent_name/relation/phone for 委托代办,
    note), optionally with claims attached."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: [_("Unknown field.")] for f in sorted(unknown)})
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    require(acting_user, CASEWORK_ROLES, person.region_id)
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError({"year": [_("Enter the year of the claims, e.g. 2024.")]}) from None
    if not 2000 <= year <= timezone.localdate().year:
        raise ValidationError({"year": [_("The year must be between 2000 and this year.")]})
    cleaned = _clean(fields)
    with transaction.atomic():
        app = Application.objects.create(
            person=person, region_id=person.region_id, year=year, created_by=acting_user, state_changed_by=acting_user,
            **cleaned,
        )
        app.number = f"{app.region_id}-{year}-{app.pk:06d}"
        app.save(update_fields=["number"])
        if claim_ids:
            add_claims(acting_user=acting_user, application_id=app.pk, claim_ids=claim_ids)
        else:
            settlement.inputs_changed(application_ids=[app.pk], reason=_("case opened"))
    return app


def update_application(*, acting_user, application_id: int, **changes) -> Application:
    """Change the tilted flag, the payee, the agent or the note of a draft/returned case."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    cleaned = _clean(changes)
    with transaction.atomic():
        app = _locked_editable(acting_user, application_id)
        recalc = "tilted_applied" in cleaned and cleaned["tilted_applied"] != app.tilted_applied
        for field, value in cleaned.items():
            setattr(app, field, value)
        app.save()
        if recalc:
            settlement.inputs_changed(application_ids=[app.pk], reason=_("tilted assistance application changed"))
    return app


def add_claims(*, acting_user, application_id: int, claim_ids) -> Application:
    """Attach the person's claims of the case's year. Refused, naming the claim, when a claim is
    another person's, of another year, or already in another open case."""
    claim_ids = sorted({int(c) for c in claim_ids})
    with transaction.atomic():
        app = _locked_editable(acting_user, application_id)
        claims = {c.pk: c for c in Claim.objects.filter(pk__in=claim_ids)}
        errors = []
        for pk in claim_ids:
            claim = claims.get(pk)
            if claim is None or claim.person_id != app.person_id:
                errors.append(_("Claim %(id)s is not a claim of this person.") % {"id": pk})
            elif claim.voided_at is not None:
                errors.append(_("Claim %(id)s is voided (%(reason)s).") % {"id": pk, "reason": claim.void_reason})
            elif claim.date.year != app.year:
                errors.append(_("Claim %(id)s is dated %(date)s, not in %(year)s.") % {"id": pk, "date": claim.date, "year": app.year})
        # Only the person's own claims: for anyone else's (another region's) the answer stays "not a
        # claim of this person", never the number of the case holding it (issue 13).
        own = [pk for pk in claim_ids if pk in claims and claims[pk].person_id == app.person_id]
        busy = (
            ApplicationClaim.objects.filter(claim_id__in=own, active=True).exclude(application=app)
            .select_related("application")
        )
        for link in busy:
            errors.append(_("Claim %(id)s is already in open case %(case)s.") % {"id": link.claim_id, "case": link.application})
        if errors:
            raise ValidationError({"claim_ids": errors})
        have = set(ApplicationClaim.objects.filter(application=app).values_list("claim_id", flat=True))
        try:
            with transaction.atomic():
                ApplicationClaim.objects.bulk_create([
                    ApplicationClaim(application=app, claim_id=pk, added_by=acting_user) for pk in claim_ids if pk not in have
                ])
        except IntegrityError:
            raise Conflict(_("One of these claims was put into another case a moment ago; reload and try again."),
                           code=CaseCode.CLAIM_TAKEN) from None
        settlement.inputs_changed(application_ids=[app.pk], reason=_("claims attached"))
    return app


def remove_claims(*, acting_user, application_id: int, claim_ids) -> Application:
    """Detach claims from a draft/returned case."""
    with transaction.atomic():
        app = _locked_editable(acting_user, application_id)
        ApplicationClaim.objects.filter(application=app, claim_id__in=[int(c) for c in claim_ids]).delete()
        settlement.inputs_changed(application_ids=[app.pk], reason=_("claims detached"))
    return app


