"""Identity confirmation requests (domain.md "Cross-department exchange").

A reviewer looking at a case (in review) asks the department that owns an identity category to
confirm that the person holds it — :func:`ask_department`, which moves the case to
``awaiting_identity`` through the cases part's ``transition(action="ask_department")``. The
department's liaisons covering the case's region see the request in their inbox and
:func:`confirm` it (the identity period is recorded with their document reference, method
``confirmed``) or :func:`reject` it with a reason. Either way the case returns to ``in_review``
(``transition(action="identity_answered")``, acting user = the liaison) and the answer is the
comment of that step on the case's timeline. A confirmed identity marks the person-years it can
change for recalculation.

A case asked through the cases part's own "ask department" action (the ``application_transitioned``
signal) gets its request here too (:func:`open_from_transition`).
"""
from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Application, Identity, RecognitionMethod
from cases.services.recalc import enqueue_pending, mark_person_years
from policies import categories
from portal.roles.domain import DepartmentCode, Role
from portal.roles.scoping import in_scope

from ..errors import Conflict, ExchangeCode, Invalid, NotFound, NotPermitted
from ..models import ChangeAction, ConfirmationRequest, ConfirmationStatus, IdentityChange
from ..pushes.checks import BACKDATE, OPEN, REOPEN, UNCHANGED, Period, affected_years, decide_existing

NOTE_MAX = 500


def _category_name(code: str) -> str:
    return categories.label(code)


def _owner(category: str, region_code: str | None) -> str | None:
    """The department that recognises ``category`` in the region (None: not one of its categories)."""
    known = categories.categories_for(region_code) if region_code else categories.NATIONAL
    return next((c.department for c in known if c.code == category), None)


def _department_name(code: str) -> str:
    return str(dict(DepartmentCode.choices).get(code, code))


def _date(value, field: str, label: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Invalid(_("%(label)s: “%(value)s” is not a date (YYYY-MM-DD).") % {"label": label, "value": value or ""},
                      field=field) from None


def _transition(**kwargs):
    """The cases part's workflow transition; its refusals become the exchange's."""
    from cases.services.errors import ServiceError
    from cases.services.workflow import transition

    try:
        return transition(**kwargs)
    except ServiceError as exc:
        cls = {403: NotPermitted, 404: NotFound, 409: Conflict}.get(exc.http_status, Invalid)
        raise cls(exc.message, code=exc.code) from None


def ask_department(*, acting_user, application_id: int, category: str, claimed_start, note: str = "") -> ConfirmationRequest:
    """Ask the owning department to confirm that the case's person holds ``category`` since
    ``claimed_start``. The case must be in review and the user its region's reviewer."""
    region_code = Application.objects.filter(pk=application_id).values_list("region_id", flat=True).first()
    department = _owner(category, region_code)
    if department is None:
        raise Invalid(_("Choose the identity the department should confirm."), field="category")
    if department == DepartmentCode.MEDICAL_SECURITY:
        raise Invalid(_("This identity is recorded by the bureau itself; no department confirms it."), field="category")
    claimed_start = _date(claimed_start, "claimed_start", _("Claimed start"))
    if claimed_start > timezone.localdate():
        raise Invalid(_("Claimed start: %(date)s is in the future.") % {"date": claimed_start}, field="claimed_start")
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(_("Note: at most %(n)d characters.") % {"n": NOTE_MAX}, field="note")
    app = Application.objects.filter(pk=application_id).select_related("person").first()
    if app is None or not in_scope(acting_user, app.region_id, roles=[Role.REVIEWER]):
        raise NotFound(_("Case not found."))
    if claimed_start.year > app.year:
        raise Invalid(_("Claimed start: %(date)s is after the case's year %(year)s.") % {"date": claimed_start,
                                                                                       "year": app.year},
                      field="claimed_start")
    comment = _("Asked the %(department)s to confirm: %(category)s since %(start)s.") % {
        "department": _department_name(department), "category": _category_name(category), "start": claimed_start,
    }
    if note:
        comment += " " + note
    try:
        with transaction.atomic():
            request = ConfirmationRequest.objects.create(
                application_id=app.pk, person_id=app.person_id, region_id=app.region_id, department_id=department,
                category=category, claimed_start=claimed_start, note=note, requested_by=acting_user,
            )
            _transition(acting_user=acting_user, application_id=app.pk, action="ask_department", comment=comment,
                        category=category, expected_state="in_review")
    except IntegrityError:
        raise Conflict(_("A department is already asked about this case; wait for its answer."),
                       code=ExchangeCode.ALREADY_ASKED) from None
    return request


def open_from_transition(*, application_id: int, category: str, actor_id: int | None, comment: str) -> None:
    """The case was sent to a department by the cases part's own action: open its request
    (claimed start: 1 January of the case's year), unless one is open already."""
    if not category:
        return
    if ConfirmationRequest.objects.filter(application_id=application_id, status=ConfirmationStatus.OPEN).exists():
        return
    app = Application.objects.filter(pk=application_id).first()
    if app is None or actor_id is None:
        return
    department = _owner(category, app.region_id)
    if department is None:
        return
    try:
        with transaction.atomic():
            ConfirmationRequest.objects.create(
                application_id=app.pk, person_id=app.person_id, region_id=app.region_id,
                department_id=department, category=category,
                claimed_start=datetime.date(app.year, 1, 1), note=str(comment or "")[:NOTE_MAX],
                requested_by_id=actor_id,
            )
    except IntegrityError:
        pass  # opened concurrently


def _locked_open(acting_user, request_id: int) -> ConfirmationRequest:
    request = (ConfirmationRequest.objects.select_for_update().filter(pk=request_id).first())
    if request is None or not in_scope(acting_user, request.region_id, roles=[Role.LIAISON],
                                       department=request.department_id):
        raise NotFound(_("Confirmation request not found."))
    if request.status != ConfirmationStatus.OPEN:
        who = request.answered_by.display_name if request.answered_by else _("someone")
        raise Conflict(
            _("This request was already answered (%(status)s) by %(user)s at %(time)s.") % {
                "status": request.get_status_display(), "user": who,
                "time": timezone.localtime(request.answered_at).strftime("%Y-%m-%d %H:%M") if request.answered_at else "",
            },
            code=ExchangeCode.ALREADY_ANSWERED,
        )
    return request


def _record_identity(request: ConfirmationRequest, *, start, end, reference: str, user) -> tuple[Identity, str]:
    """Record the confirmed period the way a pushed 新增 would (keep, backdate, reopen or open),
    or, with an end date, as a closed period. Returns (identity, what was done)."""
    periods = list(Identity.objects.select_for_update().filter(person_id=request.person_id, category=request.category))
    source = f"confirmation:{request.pk}"
    this_year = timezone.localdate().year
    if end is not None:
        clash = next((p for p in periods if p.start <= end and (p.end is None or p.end >= start)), None)
        if clash is not None:
            if clash.start <= start and (clash.end is None or clash.end >= end):
                return clash, UNCHANGED
            raise Invalid(_("This period overlaps the %(category)s identity already recorded (%(period)s); "
                            "confirm without an end date, or with dates that do not overlap.")
                          % {"category": clash.get_category_display(), "period": str(clash).split(" ", 1)[-1]},
                          field="confirmed_end")
        identity = Identity.objects.create(
            person_id=request.person_id, category=request.category, start=start, end=end,
            department_id=request.department_id, method=RecognitionMethod.CONFIRMED, reference=reference,
            source=source, created_by=user,
        )
        mark_person_years(ranges=[(request.person_id, start.year, max(start.year, min(end.year, this_year)))],
                          reason=source)
        return identity, OPEN
    decision = decide_existing("add", request.category, start, [Period(p.pk, p.start, p.end) for p in periods])
    by_id = {p.pk: p for p in periods}
    if decision.outcome == UNCHANGED:
        current = min((p for p in periods if p.end is None), key=lambda p: (p.start, p.pk))
        return current, UNCHANGED
    if decision.outcome == OPEN:
        identity = Identity.objects.create(
            person_id=request.person_id, category=request.category, start=start, end=None,
            department_id=request.department_id, method=RecognitionMethod.CONFIRMED, reference=reference,
            source=source, created_by=user,
        )
    else:
        identity = by_id[decision.open_id]
        action = ChangeAction.BACKDATED if decision.outcome == BACKDATE else ChangeAction.REOPENED
        new_start = min(identity.start, start)
        IdentityChange.objects.create(
            identity=identity, person_id=request.person_id, action=action, old_start=identity.start,
            old_end=identity.end, new_start=new_start, new_end=None, reference=reference, source=source,
        )
        identity.start = new_start
        identity.end = None
        identity.save(update_fields=["start", "end", "updated_at"])
    years = affected_years(decision.outcome if decision.outcome != OPEN else OPEN, start, decision.old_start,
                           decision.old_end, this_year)
    if years:
        mark_person_years(ranges=[(request.person_id, *years)], reason=source)
    return identity, decision.outcome if decision.outcome in (OPEN, BACKDATE, REOPEN) else UNCHANGED


def confirm(*, acting_user, request_id: int, reference: str, start=None, end=None, note: str = "") -> ConfirmationRequest:
    """The liaison confirms: the identity is recorded (from ``start``, default the claimed start;
    optional inclusive ``end``) with the department's document reference, and the case goes back
    to review with the answer on its timeline."""
    reference = str(reference or "").strip()
    errors = {}
    if not reference:
        errors["reference"] = _("Document reference (文号): required to confirm an identity.")
    elif len(reference) > 100:
        errors["reference"] = _("Document reference: at most 100 characters.")
    if errors:
        raise Invalid(errors["reference"], field="reference")
    with transaction.atomic():
        request = _locked_open(acting_user, request_id)
        start = _date(start, "confirmed_start", _("Start")) if start not in (None, "") else request.claimed_start
        end = _date(end, "confirmed_end", _("End")) if end not in (None, "") else None
        today = timezone.localdate()
        if start > today:
            raise Invalid(_("Start: %(date)s is in the future.") % {"date": start}, field="confirmed_start")
        if start < request.person.birth_date:
            raise Invalid(_("Start: %(date)s is before the person's birth date.") % {"date": start},
                          field="confirmed_start")
        if end is not None and end < start:
            raise Invalid(_("End: %(date)s is before the start %(start)s.") % {"date": end, "start": start},
                          field="confirmed_end")
        identity, done = _record_identity(request, start=start, end=end, reference=reference, user=acting_user)
        request.status = ConfirmationStatus.CONFIRMED
        request.answered_by = acting_user
        request.answered_at = timezone.now()
        request.confirmed_start = start
        request.confirmed_end = end
        request.reference = reference
        request.identity = identity
        request.save()
        period = f"{start}–{end}" if end else _("since %(start)s") % {"start": start}
        comment = _("%(department)s confirmed %(category)s %(period)s (%(reference)s).") % {
            "department": _department_name(request.department_id), "category": _category_name(request.category),
            "period": period, "reference": reference,
        }
        note = str(note or "").strip()[:NOTE_MAX]
        if note:
            comment += " " + note
        _transition(acting_user=acting_user, application_id=request.application_id, action="identity_answered",
                    comment=comment, expected_state="awaiting_identity")
        if done != UNCHANGED:
            enqueue_pending()
    return request


def reject(*, acting_user, request_id: int, reason: str) -> ConfirmationRequest:
    """The liaison does not confirm the identity; ``reason`` is required and goes on the timeline."""
    reason = str(reason or "").strip()
    if not reason:
        raise Invalid(_("Reason: say why the identity is not confirmed."), field="reason")
    if len(reason) > NOTE_MAX:
        raise Invalid(_("Reason: at most %(n)d characters.") % {"n": NOTE_MAX}, field="reason")
    with transaction.atomic():
        request = _locked_open(acting_user, request_id)
        request.status = ConfirmationStatus.REJECTED
        request.answered_by = acting_user
        request.answered_at = timezone.now()
        request.reject_reason = reason
        request.save()
        comment = _("%(department)s did not confirm %(category)s: %(reason)s") % {
            "department": _department_name(request.department_id), "category": _category_name(request.category),
            "reason": reason,
        }
        _transition(acting_user=acting_user, application_id=request.application_id, action="identity_answered",
                    comment=comment, expected_state="awaiting_identity")
    return request


def reveal_person_number(*, acting_user, request_id: int) -> str:
    """The full identity number of an open request's person, for the liaison who answers it (they
    look the person up in the department's own records). Every view is recorded (IdNumberView:
    where = the request, why = answering it)."""
    from cases.services.persons import reveal_id_number

    request = ConfirmationRequest.objects.select_related("person").filter(pk=request_id).first()
    if request is None or not in_scope(acting_user, request.region_id, roles=[Role.LIAISON],
                                       department=request.department_id):
        raise NotFound(_("Confirmation request not found."))
    if request.status != ConfirmationStatus.OPEN:
        raise Conflict(_("The request is answered; the full identity number is shown only while it is open."),
                       code=ExchangeCode.ALREADY_ANSWERED)
    return reveal_id_number(
        acting_user=acting_user, person=request.person, answering_department=request.department_id,
        context=_("confirmation request #%(n)s") % {"n": request.pk},
        reason=_("to find the person in the department's records and answer the request"),
    )


def default_category(application) -> tuple[str, datetime.date | None]:
    """The identity the applicant claims, for the ask form: an identity entered for the person and
    waiting for a second reviewer (a category a department owns), else the department-owned
    identity the person holds in the case's year; ``("", None)`` when there is none (the reviewer
    chooses; nothing is assumed)."""
    from cases.models import IdentityEntry, IdentityEntryStatus

    owners = {c.code: c.department for c in categories.categories_for(application.region_id)}

    def asked(category):
        return owners.get(category, DepartmentCode.MEDICAL_SECURITY) != DepartmentCode.MEDICAL_SECURITY

    for entry in IdentityEntry.objects.filter(person_id=application.person_id,
                                              status=IdentityEntryStatus.PENDING).order_by("-entered_at", "-id"):
        if asked(entry.category):
            return entry.category, entry.start
    first, last = datetime.date(application.year, 1, 1), datetime.date(application.year, 12, 31)
    for identity in Identity.objects.filter(person_id=application.person_id).order_by("-start", "-id"):
        if asked(identity.category) and identity.start <= last and (identity.end is None or identity.end >= first):
            return identity.category, max(identity.start, first)
    return "", None


def validation_error_message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)
