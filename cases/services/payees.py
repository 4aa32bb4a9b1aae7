"""Who a case pays, frozen at approval, and how it may change afterwards.

* :func:`freeze` (called by the workflow when a case is approved) copies the payee — the person's
  account holder, bank, account and identity number, or the hospital's name, bank and account — onto
  the case (``Application.approved_payee_*``). Payments of the case (its assistance and every 补发)
  go to that payee only (:func:`frozen_payee`); a later change of the person's account does not
  reach the case.
* A different payee needs a :class:`~cases.models.PayeeChange`: a caseworker asks for it with a
  reason (:func:`request_change`; the new payee is the person's current account, or a hospital),
  a reviewer passes or rejects it (:func:`review_change`), an approver approves or rejects it
  (:func:`decide_change`) — three different people. Reviewer and approver see old → new. While
  the request is open the case and its 补发 are not paid.
* :func:`record_bank_account_change` writes the record of every change of a person's bank details
  (who, when, old → new), called by ``cases.services.persons`` in the change's transaction.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.roles.domain import Role

from ..access import require
from ..models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    BankAccountChange,
    PayeeChange,
    PayeeChangeState,
    PayeeType,
    Person,
)
from .errors import CaseCode, Conflict, NotFound, NotPermitted

BANK_FIELDS = ("bank_name", "bank_account", "account_holder")
#: States in which a case has a frozen payee.
FROZEN_STATES = (ApplicationState.APPROVED, ApplicationState.IN_PAYMENT, ApplicationState.PAID)


def current_payee(app: Application) -> dict:
    """The payee the case would get now (the person's account or the hospital on the case)."""
    if app.payee_type == PayeeType.HOSPITAL:
        return {"payee_type": PayeeType.HOSPITAL, "payee_name": app.payee_name, "payee_bank": app.payee_bank,
                "payee_account": app.payee_account, "payee_id_number": ""}
    person = app.person
    return {"payee_type": PayeeType.PERSON, "payee_name": person.account_holder or person.name,
            "payee_bank": person.bank_name, "payee_account": person.bank_account,
            "payee_id_number": person.id_number}


def freeze(app: Application) -> None:
    """Copy the current payee onto ``app`` (not saved: the workflow saves the approval)."""
    payee = current_payee(app)
    app.approved_payee_type = payee["payee_type"]
    app.approved_payee_name = payee["payee_name"]
    app.approved_payee_bank = payee["payee_bank"]
    app.approved_payee_account = payee["payee_account"]
    app.approved_payee_id_number = payee["payee_id_number"]


def frozen_payee(app: Application) -> tuple[dict | None, str | None]:
    """The payee a payment of ``app`` goes to (copied into the payment line), or why it cannot be
    paid: no payee frozen, or a payee change waiting for review or approval."""
    if not app.approved_payee_account:
        return None, _("no payee was approved with the case")
    if app.payee_changes.filter(state__in=[PayeeChangeState.TO_REVIEW, PayeeChangeState.TO_APPROVE]).exists():
        return None, _("a change of payee waits for review and approval")
    return {"payee_type": app.approved_payee_type or PayeeType.PERSON, "payee_name": app.approved_payee_name,
            "payee_bank": app.approved_payee_bank, "payee_account": app.approved_payee_account,
            "payee_id_number": app.approved_payee_id_number}, None


def _event(app: Application, action: str, user, comment: str) -> None:
    ApplicationEvent.objects.create(application=app, action=action, from_state=app.state, to_state=app.state,
                                    actor=user, comment=comment[:1000])


def _describe(name: str, bank: str, account: str) -> str:
    return f"{name} {bank} {account}".strip()


def request_change(*, acting_user, application_id: int, reason: str, payee_type: str = PayeeType.PERSON,
                   payee_name: str = "", payee_bank: str = "", payee_account: str = "") -> PayeeChange:
    """Ask to pay an approved (or paid, for its 补发) case to a new payee. ``payee_type="person"``
    takes the person's current account; ``"hospital"`` takes ``payee_name/bank/account``."""
    reason = str(reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the payee changes.")]
    if payee_type not in PayeeType.values:
        errors["payee_type"] = [_("Choose the person's account or the hospital.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        app = Application.objects.select_for_update().select_related("person").filter(pk=application_id).first()
        if app is None:
            raise NotFound(_("Case not found."))
        require(acting_user, [Role.CASEWORKER], app.region_id)
        if app.state not in FROZEN_STATES:
            raise Conflict(_("Only an approved case has a payee to change; before approval the case's own payee "
                             "is used."), code=CaseCode.NOT_APPROVED)
        if app.current_batch_id is not None:
            raise Conflict(_("Case %(case)s is in payment batch %(batch)s; wait for the bank's result.")
                           % {"case": app, "batch": app.current_batch}, code=CaseCode.IN_PAYMENT)
        if payee_type == PayeeType.HOSPITAL:
            name, bank = str(payee_name or "").strip()[:100], str(payee_bank or "").strip()[:100]
            account = "".join(str(payee_account or "").split()).replace("-", "")[:40]
            if not (name and bank and account):
                raise ValidationError({"payee_account": [_("Enter the hospital's name, bank and account.")]})
            new = {"new_name": name, "new_bank": bank, "new_account": account, "new_id_number": ""}
        else:
            person = app.person
            if not person.bank_account:
                raise ValidationError({"payee_type": [_("The person has no bank account; add it to the person first.")]})
            new = {"new_name": person.account_holder or person.name, "new_bank": person.bank_name,
                   "new_account": person.bank_account, "new_id_number": person.id_number}
        old = {"old_payee_type": app.approved_payee_type, "old_name": app.approved_payee_name,
               "old_bank": app.approved_payee_bank, "old_account": app.approved_payee_account,
               "old_id_number": app.approved_payee_id_number}
        if (payee_type, new["new_name"], new["new_bank"], new["new_account"]) == (
                old["old_payee_type"], old["old_name"], old["old_bank"], old["old_account"]):
            raise ValidationError({"payee_type": [_("This is already the case's payee.")]})
        try:
            with transaction.atomic():
                change = PayeeChange.objects.create(application=app, reason=reason[:200], new_payee_type=payee_type,
                                                    requested_by=acting_user, **old, **new)
        except IntegrityError:
            raise Conflict(_("A change of payee of this case is already waiting for a decision."),
                           code=CaseCode.PAYEE_CHANGE_OPEN) from None
        _event(app, "payee_change_requested", acting_user,
               _("Payee change requested: %(old)s → %(new)s. Reason: %(reason)s") % {
                   "old": _describe(old["old_name"], old["old_bank"], old["old_account"]),
                   "new": _describe(new["new_name"], new["new_bank"], new["new_account"]), "reason": reason})
    return change


def _locked_change(change_id) -> PayeeChange:
    try:
        pk = int(change_id)
    except (TypeError, ValueError):
        raise NotFound(_("Payee change not found.")) from None
    change = PayeeChange.objects.select_for_update().filter(pk=pk).first()
    if change is None:
        raise NotFound(_("Payee change not found."))
    return change


def review_change(*, acting_user, change_id: int, passed: bool, comment: str = "") -> PayeeChange:
    """The reviewer's decision (a rejection needs a reason). Not by the one who asked for it."""
    comment = str(comment or "").strip()
    with transaction.atomic():
        change = _locked_change(change_id)
        app = Application.objects.select_for_update().get(pk=change.application_id)
        require(acting_user, [Role.REVIEWER], app.region_id)
        if change.state != PayeeChangeState.TO_REVIEW:
            raise Conflict(_("This payee change is “%(state)s”, not waiting for review.")
                           % {"state": change.get_state_display()}, code=CaseCode.STATE_CONFLICT)
        if change.requested_by_id == acting_user.pk:
            raise NotPermitted(_("You asked for this payee change; another reviewer must review it (four eyes)."),
                               code=CaseCode.FOUR_EYES)
        if not passed and not comment:
            raise ValidationError({"comment": [_("Give a reason to reject.")]})
        change.reviewed_by, change.reviewed_at, change.review_comment = acting_user, timezone.now(), comment[:200]
        change.state = PayeeChangeState.TO_APPROVE if passed else PayeeChangeState.REJECTED
        change.save(update_fields=["reviewed_by", "reviewed_at", "review_comment", "state"])
        _event(app, "payee_change_reviewed" if passed else "payee_change_rejected", acting_user, comment)
    return change


def decide_change(*, acting_user, change_id: int, approved: bool, comment: str = "") -> PayeeChange:
    """The approver's decision. Not by the one who asked for it nor by its reviewer. Approved, the
    case's frozen payee becomes the new one (and the case's hospital payee, when it is a hospital)."""
    comment = str(comment or "").strip()
    with transaction.atomic():
        change = _locked_change(change_id)
        app = Application.objects.select_for_update().get(pk=change.application_id)
        require(acting_user, [Role.APPROVER], app.region_id)
        if change.state != PayeeChangeState.TO_APPROVE:
            raise Conflict(_("This payee change is “%(state)s”, not waiting for approval.")
                           % {"state": change.get_state_display()}, code=CaseCode.STATE_CONFLICT)
        if acting_user.pk in (change.requested_by_id, change.reviewed_by_id):
            raise NotPermitted(_("You asked for or reviewed this payee change; another approver must decide it "
                                 "(four eyes)."), code=CaseCode.FOUR_EYES)
        if not approved and not comment:
            raise ValidationError({"comment": [_("Give a reason to reject.")]})
        if approved and app.current_batch_id is not None:
            raise Conflict(_("Case %(case)s is in payment batch %(batch)s; wait for the bank's result.")
                           % {"case": app, "batch": app.current_batch_id}, code=CaseCode.IN_PAYMENT)
        change.decided_by, change.decided_at, change.decision_comment = acting_user, timezone.now(), comment[:200]
        change.state = PayeeChangeState.APPROVED if approved else PayeeChangeState.REJECTED
        change.save(update_fields=["decided_by", "decided_at", "decision_comment", "state"])
        if approved:
            app.approved_payee_type = change.new_payee_type
            app.approved_payee_name = change.new_name
            app.approved_payee_bank = change.new_bank
            app.approved_payee_account = change.new_account
            app.approved_payee_id_number = change.new_id_number
            fields = ["approved_payee_type", "approved_payee_name", "approved_payee_bank", "approved_payee_account",
                      "approved_payee_id_number"]
            if change.new_payee_type == PayeeType.HOSPITAL:
                app.payee_type, app.payee_name = PayeeType.HOSPITAL, change.new_name
                app.payee_bank, app.payee_account = change.new_bank, change.new_account
            else:
                app.payee_type = PayeeType.PERSON
            fields += ["payee_type", "payee_name", "payee_bank", "payee_account"]
            app.save(update_fields=fields)
        _event(app, "payee_change_approved" if approved else "payee_change_rejected", acting_user,
               comment or _("%(old)s → %(new)s") % {"old": _describe(change.old_name, change.old_bank, change.old_account),
                                                    "new": _describe(change.new_name, change.new_bank, change.new_account)})
    return change


def record_bank_account_change(*, acting_user, person: Person, old: dict) -> BankAccountChange | None:
    """Record the change of ``person``'s bank details from ``old`` (``{field: value}`` of
    :data:`BANK_FIELDS`) to the person's current values, if anything changed."""
    new = {f: getattr(person, f) or "" for f in BANK_FIELDS}
    old = {f: old.get(f) or "" for f in BANK_FIELDS}
    if new == old:
        return None
    return BankAccountChange.objects.create(
        person=person, changed_by=acting_user if getattr(acting_user, "pk", None) else None,
        old_bank_name=old["bank_name"], old_bank_account=old["bank_account"], old_account_holder=old["account_holder"],
        new_bank_name=new["bank_name"], new_bank_account=new["bank_account"], new_account_holder=new["account_holder"],
    )
