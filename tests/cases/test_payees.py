"""Issue 13, finding 1 (payee redirection): the payee is frozen on the case at approval; a changed
account reaches the case only through a payee change passed by a reviewer and an approver; every
change of a bank account is recorded (who, when, old → new)."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cases.models import BankAccountChange, PayeeChange
from cases.services import payees, payments, persons
from cases.services.errors import Conflict, NotPermitted
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db

OLD, NEW = "6217000012345678", "6217999988887777"


def _redirect(team, app):
    persons.update_person(acting_user=team.caseworker, person_id=app.person_id, bank_account=NEW,
                          account_holder="经办人自己")


def test_the_payee_is_frozen_at_approval_and_a_later_account_change_does_not_reach_the_payment(team):
    app = make_case(team, "approved")
    assert (app.approved_payee_name, app.approved_payee_account, app.approved_payee_id_number) == (
        "户主", OLD, app.person.id_number)
    _redirect(team, app)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk])
    line = batch.lines.get()
    assert (line.payee_name, line.payee_account) == ("户主", OLD)  # not the caseworker's account


def test_every_bank_account_change_is_recorded_who_when_old_new(team):
    app = make_case(team, "approved")
    _redirect(team, app)
    change = BankAccountChange.objects.filter(person=app.person).latest("id")
    assert (change.changed_by, change.old_bank_account, change.new_bank_account) == (team.caseworker, OLD, NEW)
    assert (change.old_account_holder, change.new_account_holder) == ("户主", "经办人自己")
    assert change.changed_at is not None
    # A change that leaves the bank details as they are is not recorded.
    persons.update_person(acting_user=team.caseworker, person_id=app.person_id, phone="13800000000")
    assert BankAccountChange.objects.filter(person=app.person).count() == 1


def test_registering_a_person_with_an_account_is_recorded(team):
    person = persons.create_person(acting_user=team.caseworker, id_number="360702196103121316", name="张三",
                                   region_code="360702", bank_name="农商行", bank_account="6217000011113333")
    change = BankAccountChange.objects.get(person=person)
    assert (change.old_bank_account, change.new_bank_account, change.changed_by) == ("", "6217000011113333", team.caseworker)


def test_a_payee_change_passes_review_and_approval_by_three_people_then_pays_the_new_account(team):
    app = make_case(team, "approved")
    _redirect(team, app)
    change = payees.request_change(acting_user=team.caseworker, application_id=app.pk, reason="原账户已销户")
    assert (change.old_account, change.new_account, change.new_name) == (OLD, NEW, "经办人自己")
    # While the change is open the case is not paid at all.
    with pytest.raises(Conflict, match="收款人变更尚待审核"):
        payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk])
    with pytest.raises(NotPermitted):  # the caseworker cannot review (no role), …
        payees.review_change(acting_user=team.caseworker, change_id=change.pk, passed=True)
    payees.review_change(acting_user=team.reviewer, change_id=change.pk, passed=True)
    with pytest.raises(NotPermitted):  # … the reviewer is not the approver
        payees.decide_change(acting_user=make_reviewer_approver(team), change_id=change.pk, approved=True)
    payees.decide_change(acting_user=team.approver, change_id=change.pk, approved=True)
    app.refresh_from_db()
    assert (app.approved_payee_account, app.approved_payee_name) == (NEW, "经办人自己")
    line = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk]).lines.get()
    assert line.payee_account == NEW
    actions = list(app.events.values_list("action", flat=True))
    assert actions[-4:-1] == ["payee_change_requested", "payee_change_reviewed", "payee_change_approved"]


def make_reviewer_approver(team):
    """team.reviewer also holding the approver role (to show the reviewer cannot approve)."""
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    RoleAssignment.objects.get_or_create(user=team.reviewer, role="approver", region_id=team.region,
                                         department_id="medical_security")
    forget_grants(team.reviewer)
    return team.reviewer


def test_the_requester_may_not_review_and_a_rejection_keeps_the_old_payee(team):
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    app = make_case(team, "approved")
    _redirect(team, app)
    RoleAssignment.objects.get_or_create(user=team.caseworker, role="reviewer", region_id=team.region,
                                         department_id="medical_security")
    forget_grants(team.caseworker)
    change = payees.request_change(acting_user=team.caseworker, application_id=app.pk, reason="换卡")
    with pytest.raises(NotPermitted, match="双人复核"):
        payees.review_change(acting_user=team.caseworker, change_id=change.pk, passed=True)
    with pytest.raises(ValidationError):
        payees.review_change(acting_user=team.reviewer, change_id=change.pk, passed=False)
    payees.review_change(acting_user=team.reviewer, change_id=change.pk, passed=False, comment="无销户证明")
    assert PayeeChange.objects.get().state == "rejected"
    line = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk]).lines.get()
    assert line.payee_account == OLD


def test_no_payee_change_before_approval_nor_while_in_a_batch(team):
    draft = make_case(team, "reviewed")
    with pytest.raises(Conflict):
        payees.request_change(acting_user=team.caseworker, application_id=draft.pk, reason="x")
    batched = make_case(team, "in_payment")
    _redirect(team, batched)
    with pytest.raises(Conflict, match="支付批次"):
        payees.request_change(acting_user=team.caseworker, application_id=batched.pk, reason="x")


def test_the_same_payee_is_not_a_change(team):
    app = make_case(team, "approved")
    with pytest.raises(ValidationError):
        payees.request_change(acting_user=team.caseworker, application_id=app.pk, reason="x")
    assert app.amount_approved == Decimal("9000.00")
