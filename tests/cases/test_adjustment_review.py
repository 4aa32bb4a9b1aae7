"""Issue 13, finding 2 (unreviewed extra payment), the payment half: a 补发 above what was approved
is paid only after a reviewer passed it and a different approver approved it, neither of whom made
the change behind it; and paying one adjustment takes nothing else of the region."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cases.models import Adjustment, Identity
from cases.services import adjustments, payments, settlement
from cases.services.errors import Conflict, NotPermitted
from tests.cases.factories import make_case
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def _supplement(team, *, entered_by=None):
    """A paid case whose person turns out to be 特困: a 补发 of 3 000.00 (the identity entered by
    ``entered_by`` when given)."""
    app = make_case(team, "paid")
    if entered_by is None:
        Identity.objects.filter(person=app.person).update(category="tekun")
    else:
        Identity.objects.filter(person=app.person).update(end=datetime.date(2022, 12, 31))
        IdentityFactory(person=app.person, category="tekun", start=datetime.date(2023, 1, 1), created_by=entered_by)
    settlement.recalculate_person_year(person_id=app.person_id, year=2023, reason="push:1")
    return app, Adjustment.objects.get(application=app)


def test_an_unreviewed_supplement_is_not_batched(team):
    app, adj = _supplement(team)
    assert (adj.kind, adj.amount) == ("supplementary", Decimal("3000.00"))
    assert adjustments.approval_state(adj) == "to_review"
    with pytest.raises(Conflict, match="待审核"):
        payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    with pytest.raises(Conflict, match="待审核"):
        payments.create_batch(acting_user=team.payment, region_code="360700")
    adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True, expected_amount="3000.00")
    assert adjustments.approval_state(adj) == "to_approve"
    with pytest.raises(Conflict, match="待审批"):  # reviewed is not enough
        payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    assert [(line.adjustment_id, line.amount) for line in batch.lines.all()] == [(adj.pk, Decimal("3000.00"))]


def test_reviewer_and_approver_are_two_people_neither_the_one_who_entered_the_change(team):
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    _app, adj = _supplement(team, entered_by=team.reviewer)
    with pytest.raises(NotPermitted, match="双人复核"):
        adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True)
    adjustments.review(acting_user=team.reviewer2, adjustment_id=adj.pk, passed=True)
    RoleAssignment.objects.get_or_create(user=team.reviewer2, role="approver", region_id=team.region,
                                         department_id="medical_security")
    forget_grants(team.reviewer2)
    with pytest.raises(NotPermitted, match="双人复核"):
        adjustments.decide(acting_user=team.reviewer2, adjustment_id=adj.pk, approved=True)
    with pytest.raises(NotPermitted):  # a caseworker has no say
        adjustments.review(acting_user=team.caseworker, adjustment_id=adj.pk, passed=True)
    adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)
    assert adjustments.approval_state(adj) == "approved"


def test_a_rejected_supplement_is_never_paid_and_a_rejection_needs_a_reason(team):
    _app, adj = _supplement(team)
    with pytest.raises(ValidationError):
        adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=False)
    adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=False, comment="特困认定未核实")
    assert adjustments.approval_state(adj) == "rejected"
    with pytest.raises(Conflict):
        adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)
    with pytest.raises(Conflict, match="驳回"):
        payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])


def test_a_changed_amount_needs_a_new_review(team):
    _app, adj = _supplement(team)
    adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True)
    adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)
    Adjustment.objects.filter(pk=adj.pk).update(amount=Decimal("9750.00"))  # a later recalculation revived it higher
    adj.refresh_from_db()
    assert adjustments.approval_state(adj) == "to_review"
    with pytest.raises(Conflict, match="金额已变为"):
        adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True, expected_amount="3000.00")


def test_the_reason_is_in_words(team):
    _app, adj = _supplement(team)
    text = adjustments.reason_text(adj)
    assert "push:1" not in text and "1" in text
    assert "特困" in text or "tekun" in text


def test_paying_one_adjustment_takes_no_approved_case_of_the_region(team):
    """Medium finding: 'Paying one adjustment sweeps every approved case of the region into the batch'."""
    waiting = make_case(team, "approved")
    _app, adj = _supplement(team)
    adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True)
    adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    assert list(batch.lines.values_list("adjustment_id", flat=True)) == [adj.pk]
    waiting.refresh_from_db()
    assert (waiting.state, waiting.current_batch_id) == ("approved", None)


def test_the_api_shows_the_state_and_reason_and_takes_the_two_decisions(team):
    from rest_framework.test import APIClient

    def api(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    _app, adj = _supplement(team)
    body = api(team.payment).get(f"/api/v1/adjustments/{adj.pk}/").json()
    assert body["approval_state"] == "to_review" and "push:1" not in body["reason_text"]
    wrong = api(team.reviewer).post(f"/api/v1/adjustments/{adj.pk}/review/",
                                    {"passed": True, "expected_amount": "2999.00"}, format="json")
    assert wrong.status_code == 409 and wrong.json()["code"] == "amount_changed"
    assert api(team.reviewer).post(f"/api/v1/adjustments/{adj.pk}/review/", {"passed": True, "expected_amount": "3000.00"},
                                   format="json").status_code == 200
    assert api(team.approver).post(f"/api/v1/adjustments/{adj.pk}/approve/", {"passed": False},
                                   format="json").status_code == 400  # a rejection needs a reason
    answer = api(team.approver).post(f"/api/v1/adjustments/{adj.pk}/approve/", {"passed": True}, format="json")
    assert answer.status_code == 200 and answer.json()["approval_state"] == "approved"
