"""Persons, households and hardship identities; revealing a full identity number.

Public functions (all keyword-only, each one transaction):

* :func:`create_household` / :func:`create_person` / :func:`update_person`
* :func:`add_identity` / :func:`close_identity`; :func:`confirm_identity_entry` /
  :func:`reject_identity_entry` — an identity entered by bureau staff is an :class:`IdentityEntry`
  that counts only once a second reviewer confirms it
* :func:`reveal_id_number` — the only way to read a full number on screen or through the API
* :func:`log_id_number_views` — exports that carry full numbers record one view per person

Field problems raise ``django.core.exceptions.ValidationError`` with ``{field: [message]}``; role
or region problems raise :class:`~cases.services.errors.NotPermitted`.
"""
from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from policies import categories
from portal.regions.models import Region
from portal.roles.domain import Role

from .. import identity_numbers
from ..access import (
    IDENTITY_EVIDENCE_ROLES,
    PERSON_READ_ROLES,
    PERSON_WRITE_ROLES,
    can_view_full_id,
    holds,
    holds_anywhere,
    require,
)
from ..models import (
    UNVERIFIED,
    ApplicationEvent,
    ApplicationState,
    Household,
    Identity,
    IdentityEntry,
    IdentityEntryStatus,
    IdNumberView,
    Person,
    PersonDetailChange,
    RecognitionMethod,
    Residence,
    Scheme,
)
from . import payees, settlement
from .errors import CaseCode, Conflict, NotFound, NotPermitted
from .values import ValueProblem
from .values import date as parse_date

BANK_ACCOUNT = re.compile(r"^\d{8,32}$")
PERSON_FIELDS = (
    "id_number", "name", "region_code", "household_id", "residence", "scheme", "phone", "bank_name",
    "bank_account", "account_holder",
)


def _region(code: str, field: str = "region_code") -> Region:
    try:
        return Region.objects.get(pk=str(code or "").strip())
    except Region.DoesNotExist:
        raise ValidationError({field: [_("Region %(code)s does not exist.") % {"code": code}]}) from None


@transaction.atomic
def create_household(*, acting_user, region_code: str, number: str = "", head_name: str = "", address: str = "") -> Household:
    """Register a household (家庭) in a region the user covers as caseworker or reviewer."""
    region = _region(region_code)
    require(acting_user, PERSON_WRITE_ROLES, region.code)
    return Household.objects.create(
        region=region, number=number.strip()[:40], head_name=head_name.strip()[:50], address=address.strip()[:200]
    )


def _clean_person(data: dict, *, acting_user, instance: Person | None) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    if "id_number" in data or instance is None:
        try:
            facts = identity_numbers.validate(data.get("id_number", ""))
        except identity_numbers.IdentityNumberError as exc:
            errors["id_number"] = [str(exc)]
        else:
            cleaned.update(id_number=facts.number, sex=facts.sex, birth_date=facts.birth_date)
            clash = Person.objects.filter(id_number=facts.number)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            other = clash.select_related("region").first()
            if other is not None and holds(acting_user, PERSON_READ_ROLES, other.region_id):
                errors["id_number"] = [
                    _("A person with this identity number is already registered (in %(region)s).")
                    % {"region": other.region.name}
                ]
            elif other is not None:  # another region's person: say only that, and whom to ask
                errors["id_number"] = [
                    _("A person with this identity number is already registered in another region. Ask the "
                      "person where they are registered, or ask your city's medical security bureau to look "
                      "the person up; their details are not shown here.")
                ]
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Name is required.")]
        elif len(name) > 50:
            errors["name"] = [_("Name is longer than 50 characters.")]
        cleaned["name"] = name
    if "region_code" in data or instance is None:
        try:
            region = _region(data.get("region_code"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
        else:
            if not holds(acting_user, PERSON_WRITE_ROLES, region.code):
                errors["region_code"] = [_("Region %(code)s is outside your regions.") % {"code": region.code}]
            cleaned["region"] = region
    if "household_id" in data:
        household_id = data.get("household_id")
        if household_id in (None, ""):
            cleaned["household"] = None
        else:
            household = Household.objects.filter(pk=household_id).first()
            if household is None or not holds(acting_user, PERSON_WRITE_ROLES, household.region_id):
                errors["household_id"] = [_("Household %(id)s does not exist in your regions.") % {"id": household_id}]
            cleaned["household"] = household
    for field, choices, default in (("residence", Residence, Residence.RURAL), ("scheme", Scheme, Scheme.RESIDENT)):
        if field in data or instance is None:
            if not data.get(field) and instance is not None and getattr(instance, field) == UNVERIFIED:
                cleaned[field] = UNVERIFIED  # left as the push left it: still to be verified (待核实)
                continue
            value = str(data.get(field) or default)
            if value not in choices.values:
                errors[field] = [_("“%(value)s” is not one of: %(choices)s") % {"value": value, "choices": ", ".join(choices.values)}]
            cleaned[field] = value
    for field, limit in (("phone", 32), ("bank_name", 100), ("account_holder", 50)):
        if field in data:
            value = str(data.get(field) or "").strip()
            if len(value) > limit:
                errors[field] = [_("Longer than %(n)d characters.") % {"n": limit}]
            cleaned[field] = value
    if "bank_account" in data:
        account = re.sub(r"[\s-]", "", str(data.get("bank_account") or ""))
        if account and not BANK_ACCOUNT.match(account):
            errors["bank_account"] = [_("A bank account number has 8 to 32 digits.")]
        cleaned["bank_account"] = account
    if errors:
        raise ValidationError(errors)
    if instance is None and not cleaned.get("account_holder") and cleaned.get("bank_account"):
        cleaned["account_holder"] = cleaned["name"]
    return cleaned


def create_person(*, acting_user, id_number: str, name: str, region_code: str, household_id=None, residence: str = "rural",
                  scheme: str = "resident", phone: str = "", bank_name: str = "", bank_account: str = "",
                  account_holder: str = "") -> Person:
    """Register a person. Sex and birth date come from the identity number (never typed in);
    a number already registered is refused with a message saying where."""
    data = {
        "id_number": id_number, "name": name, "region_code": region_code, "household_id": household_id,
        "residence": residence, "scheme": scheme, "phone": phone, "bank_name": bank_name,
        "bank_account": bank_account, "account_holder": account_holder,
    }
    if not holds_anywhere(acting_user, PERSON_WRITE_ROLES):
        raise NotPermitted(_("Registering persons needs the caseworker or reviewer role."), code=CaseCode.ROLE_REQUIRED)
    cleaned = _clean_person(data, acting_user=acting_user, instance=None)
    try:
        with transaction.atomic():
            person = Person.objects.create(**cleaned)
            payees.record_bank_account_change(acting_user=acting_user, person=person, old={})
            return person
    except IntegrityError:
        raise ValidationError(
            {"id_number": [_("A person with this identity number was registered a moment ago by someone else.")]}
        ) from None


def update_person(*, acting_user, person_id: int, **changes) -> Person:
    """Correct a person's details. ``changes`` takes the keyword arguments of :func:`create_person`;
    a new identity number re-derives sex and birth date. A change of residence or scheme
    recalculates the person's open cases."""
    unknown = set(changes) - set(PERSON_FIELDS)
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed here.")] for f in unknown})
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            raise NotFound(_("Person not found."))
        require(acting_user, PERSON_WRITE_ROLES, person.region_id)
        cleaned = _clean_person(changes, acting_user=acting_user, instance=person)
        details = [(f, getattr(person, f), cleaned[f]) for f in ("residence", "scheme")
                   if f in cleaned and cleaned[f] != getattr(person, f)]
        recalc = bool(details)
        old_bank = {f: getattr(person, f) for f in payees.BANK_FIELDS}
        for field, value in cleaned.items():
            setattr(person, field, value)
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise ValidationError({"id_number": [_("A person with this identity number is already registered.")]}) from None
        payees.record_bank_account_change(acting_user=acting_user, person=person, old=old_bank)
        PersonDetailChange.objects.bulk_create([
            PersonDetailChange(person=person, field=f, old_value=old, new_value=new, changed_by=acting_user)
            for f, old, new in details])
        if recalc:
            settlement.inputs_changed(person_id=person.pk, reason=_("person's residence or scheme changed"))
        return person


# --- Identities ----------------------------------------------------------------------------------


def _owner(category: str, region_code: str) -> str:
    """The department that recognises ``category`` in the region (national list or its policy)."""
    return categories.owner(category, region_code) or ""


def _check_identity_actor(acting_user, person: Person, category: str, method: str | None) -> str:
    """Who may record ``category`` for ``person``, and with which recognition method."""
    owner = _owner(category, person.region_id)
    if acting_user is None:  # the system (department push applied by the exchange)
        return method or RecognitionMethod.PUSHED
    if holds(acting_user, [Role.LIAISON], person.region_id, department=owner):
        return method if method in (RecognitionMethod.PUSHED, RecognitionMethod.CONFIRMED) else RecognitionMethod.CONFIRMED
    if holds(acting_user, IDENTITY_EVIDENCE_ROLES, person.region_id):
        return RecognitionMethod.EVIDENCE
    if holds(acting_user, [Role.LIAISON], person.region_id):
        raise NotPermitted(
            _("Only the owning department's liaison may record this identity."), code=CaseCode.WRONG_DEPARTMENT
        )
    require(acting_user, IDENTITY_EVIDENCE_ROLES, person.region_id)
    return RecognitionMethod.EVIDENCE  # pragma: no cover - require() raised


def _overlapping(person_id: int, category: str, start, end, *, exclude_pk=None):
    far = datetime.date.max
    qs = Identity.objects.filter(person_id=person_id, category=category, start__lte=end or far)
    qs = qs.exclude(end__lt=start)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _years(start, end) -> range:
    last = (end or datetime.date.today()).year
    return range(start.year, max(start.year, last) + 1)


def _own_open_request(user, person_id: int, category: str) -> bool:
    """Has ``user`` asked a department to confirm ``category`` for the person, in a case still
    waiting for the answer? (The user then must neither enter nor confirm that identity.)"""
    from ..models import Application

    waiting = Application.objects.filter(person_id=person_id, state=ApplicationState.AWAITING_IDENTITY,
                                         pending_category=category).values_list("pk", flat=True)
    for app_id in waiting:
        asked = (ApplicationEvent.objects.filter(application_id=app_id, action="ask_department")
                 .order_by("-id").values_list("actor_id", flat=True).first())
        if asked == user.pk:
            return True
    return False


def _clean_period(category, start, end, *, region_code: str | None = None) -> tuple:
    errors: dict[str, list[str]] = {}
    known = categories.codes_for(region_code) if region_code else [c.code for c in categories.NATIONAL]
    if category not in known:
        errors["category"] = [_("“%(value)s” is not an identity category of region %(region)s (the national "
                                "list and the categories its policy defines).")
                              % {"value": category, "region": region_code or "—"}]
    try:
        start = parse_date(start, allow_future=True)
    except ValueProblem as problem:
        errors["start"] = [_("Start date %(problem)s.") % {"problem": problem}]
    try:
        end = parse_date(end, required=False, allow_future=True) if end not in (None, "") else None
    except ValueProblem as problem:
        errors["end"] = [_("End date %(problem)s.") % {"problem": problem}]
    if not errors and end is not None and end < start:
        errors["end"] = [_("The end date is before the start date.")]
    if errors:
        raise ValidationError(errors)
    return start, end


def _refuse_overlap(person_id: int, category: str, start, end, *, field: str = "start", pending: bool = True,
                    exclude_entry=None) -> None:
    """Refuse a period overlapping a recorded identity of the category (and, with ``pending``, one
    entered and waiting for a second reviewer)."""
    clash = _overlapping(person_id, category, start, end)
    if clash is not None:
        raise ValidationError(
            {field: [_("This period overlaps the %(category)s identity already recorded (%(period)s).")
                     % {"category": clash.get_category_display(), "period": str(clash).split(" ", 1)[-1]}]}
        )
    if not pending:
        return
    pending = IdentityEntry.objects.filter(person_id=person_id, category=category, status=IdentityEntryStatus.PENDING,
                                           start__lte=end or datetime.date.max).exclude(end__lt=start)
    if exclude_entry is not None:
        pending = pending.exclude(pk=exclude_entry)
    other = pending.first()
    if other is not None:
        raise ValidationError(
            {field: [_("This period overlaps a %(category)s identity (%(period)s) already entered and waiting for "
                       "a second reviewer.") % {"category": other.get_category_display(),
                                                "period": str(other).split(" ", 1)[-1]}]}
        )


def add_identity(*, acting_user, person_id: int, category: str, start, end=None, method: str | None = None,
                 reference: str = "", source: str = "") -> Identity | IdentityEntry:
    """Record that the person holds ``category`` from ``start`` to ``end`` (inclusive, None = open).

    * The system (``acting_user=None``, a department push) and the owning department's liaison
      (method confirmed/pushed) record the :class:`Identity` at once; the source department is the
      category's owner in the region (``policies.categories``). Open cases of the person are recalculated;
      person-years with approved cases are recalculated for supplementary payments (see
      :func:`cases.services.settlement.recalculate_person_year`).
    * Bureau staff (caseworker or reviewer, on evidence) get a pending :class:`IdentityEntry`
      instead: it changes no settlement until a second reviewer confirms it
      (:func:`confirm_identity_entry`). A reviewer who asked a department to confirm this identity
      for this person, in a case still waiting, may not enter it (the department answers).

    A period overlapping another of the same category (recorded, or entered and pending) is refused.
    """
    region_code = Person.objects.filter(pk=person_id).values_list("region_id", flat=True).first()
    start, end = _clean_period(category, start, end, region_code=region_code)
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            raise NotFound(_("Person not found."))
        method = _check_identity_actor(acting_user, person, category, method)
        if acting_user is not None and method == RecognitionMethod.EVIDENCE:
            if _own_open_request(acting_user, person.pk, category):
                raise NotPermitted(
                    _("You asked the department to confirm this identity for this person; its answer is awaited, "
                      "so you may not enter the identity yourself."), code=CaseCode.OWN_DEPARTMENT_REQUEST)
            _refuse_overlap(person.pk, category, start, end)
            return IdentityEntry.objects.create(
                person=person, category=category, start=start, end=end, reference=str(reference or "")[:100],
                source=str(source or "")[:60], entered_by=acting_user,
            )
        # The department's word: a bureau entry still waiting does not hold it up (it can no longer
        # be confirmed once it overlaps).
        _refuse_overlap(person.pk, category, start, end, pending=False)
        identity = Identity.objects.create(
            person=person, category=category, start=start, end=end, department_id=_owner(category, person.region_id),
            method=method, reference=str(reference or "")[:100], source=str(source or "")[:60],
            created_by=acting_user,
        )
        settlement.inputs_changed(
            person_id=person.pk, reason=_("identity added"), recalculate_years=_years(start, end)
        )
    return identity


def _locked_entry(acting_user, entry_id: int) -> IdentityEntry:
    entry = IdentityEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None or not holds(acting_user, PERSON_READ_ROLES, entry.person.region_id):
        raise NotFound(_("Identity entry not found."))
    require(acting_user, [Role.REVIEWER], entry.person.region_id)
    if entry.status != IdentityEntryStatus.PENDING:
        who = entry.decided_by.display_name if entry.decided_by else _("someone")
        raise Conflict(_("This identity entry was already decided (%(status)s) by %(user)s at %(time)s.") % {
            "status": entry.get_status_display(), "user": who,
            "time": timezone.localtime(entry.decided_at).strftime("%Y-%m-%d %H:%M") if entry.decided_at else "",
        }, code=CaseCode.ALREADY_DECIDED)
    if entry.entered_by_id == acting_user.pk:
        raise NotPermitted(_("You entered this identity; a second reviewer must confirm it (four eyes)."),
                           code=CaseCode.FOUR_EYES)
    if _own_open_request(acting_user, entry.person_id, entry.category):
        raise NotPermitted(
            _("You asked the department to confirm this identity for this person; its answer is awaited, so "
              "another reviewer must decide this entry."), code=CaseCode.OWN_DEPARTMENT_REQUEST)
    return entry


def confirm_identity_entry(*, acting_user, entry_id: int) -> Identity:
    """A second reviewer confirms a pending identity entry: the :class:`Identity` is recorded
    (method evidence) and the person's cases are recalculated as for :func:`add_identity`.
    Refused for the user who entered it, and for a reviewer whose own department request about this
    identity is still open."""
    with transaction.atomic():
        entry = _locked_entry(acting_user, entry_id)
        Person.objects.select_for_update().filter(pk=entry.person_id).first()
        _refuse_overlap(entry.person_id, entry.category, entry.start, entry.end, pending=False)
        identity = Identity.objects.create(
            person_id=entry.person_id, category=entry.category, start=entry.start, end=entry.end,
            department_id=_owner(entry.category, entry.person.region_id), method=RecognitionMethod.EVIDENCE,
            reference=entry.reference, source=f"entry:{entry.pk}", created_by=entry.entered_by,
        )
        entry.status = IdentityEntryStatus.CONFIRMED
        entry.decided_by = acting_user
        entry.decided_at = timezone.now()
        entry.identity = identity
        entry.save(update_fields=["status", "decided_by", "decided_at", "identity"])
        settlement.inputs_changed(
            person_id=entry.person_id, reason=_("identity added"), recalculate_years=_years(entry.start, entry.end)
        )
    return identity


def reject_identity_entry(*, acting_user, entry_id: int, reason: str) -> IdentityEntry:
    """A second reviewer rejects a pending identity entry; ``reason`` is required (the person who
    entered it reads it on the person's page). Nothing is recorded."""
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the identity is not confirmed.")]})
    if len(reason) > 500:
        raise ValidationError({"reason": [_("Longer than %(n)d characters.") % {"n": 500}]})
    with transaction.atomic():
        entry = _locked_entry(acting_user, entry_id)
        entry.status = IdentityEntryStatus.REJECTED
        entry.decided_by = acting_user
        entry.decided_at = timezone.now()
        entry.decision_reason = reason
        entry.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    return entry


def close_identity(*, acting_user, identity_id: int, end, reference: str = "") -> Identity:
    """End an identity period on ``end`` (inclusive); also used to shorten one. Same callers and
    effects as :func:`add_identity`."""
    try:
        end = parse_date(end, allow_future=True)
    except ValueProblem as problem:
        raise ValidationError({"end": [_("End date %(problem)s.") % {"problem": problem}]}) from None
    with transaction.atomic():
        identity = Identity.objects.select_related("person").filter(pk=identity_id).first()
        if identity is None:
            raise NotFound(_("Identity not found."))
        person = Person.objects.select_for_update().get(pk=identity.person_id)
        _check_identity_actor(acting_user, person, identity.category, None)
        if end < identity.start:
            raise ValidationError({"end": [_("The end date is before the start date.")]})
        clash = _overlapping(person.pk, identity.category, identity.start, end, exclude_pk=identity.pk)
        if clash is not None:
            raise ValidationError({"end": [_("This period would overlap another %(category)s identity.")
                                           % {"category": clash.get_category_display()}]})
        old_end = identity.end
        identity.end = end
        if reference:
            identity.reference = str(reference)[:100]
        identity.save(update_fields=["end", "reference", "updated_at"])
        lo = min(end, old_end or end)
        settlement.inputs_changed(
            person_id=person.pk, reason=_("identity closed"), recalculate_years=_years(lo, old_end or datetime.date.today())
        )
    return identity


# --- Full identity numbers -------------------------------------------------------------------------


def reveal_id_number(*, acting_user, person: Person, context: str, reason: str = "",
                     channel: str = IdNumberView.Channel.SCREEN, answering_department: str | None = None) -> str:
    """Return ``person``'s full identity number and record the view (who, whom, when, ``context``
    = where, ``reason`` = why). Refused (:class:`NotPermitted`) without the right; see
    :mod:`cases.access` for who has it. ``answering_department``: the exchange has checked that
    the user answers an open confirmation request of that department about this person; its
    liaisons covering the person's region then see the number (to find the person in the
    department's own records)."""
    context = str(context or "").strip()
    if not context:
        raise ValidationError({"context": [_("Say where the number is shown (e.g. the case number).")]})
    liaison = bool(answering_department) and holds(acting_user, [Role.LIAISON], person.region_id,
                                                    department=answering_department)
    if not liaison and not can_view_full_id(acting_user, person):
        raise NotPermitted(_("You may not see full identity numbers of this region."), code=CaseCode.NO_FULL_ID_PERMISSION)
    IdNumberView.objects.create(
        user=acting_user, person=person, channel=channel, context=context[:200], reason=str(reason or "")[:200]
    )
    return person.id_number


def log_id_number_views(*, acting_user, person_ids, context: str, reason: str = "") -> int:
    """Record one export view per person (bulk). Returns the number of rows written."""
    rows = [
        IdNumberView(user=acting_user, person_id=pk, channel=IdNumberView.Channel.EXPORT, context=context[:200],
                     reason=reason[:200])
        for pk in dict.fromkeys(person_ids)
    ]
    IdNumberView.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
