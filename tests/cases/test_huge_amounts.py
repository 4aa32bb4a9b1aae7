"""Amounts at the edge of what is stored (issue 13: two claims of 999 999 999 999.99 left a case
"calculating" forever): the settlement is refused with a reason the case shows, and the case
cannot pass review."""
from decimal import Decimal

import pytest
from django.db.models import F

from cases.models import Application, ApplicationClaim, Settlement
from cases.services import settlement as settlement_service
from cases.services import workflow
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity

pytestmark = pytest.mark.django_db

MAX = Decimal("999999999999.99")


def _case_with(team, amounts):
    person = person_with_identity(region="360702")
    claims = [ClaimFactory(person=person, total=a, policy_scope=a, basic_paid=Decimal("0.00"),
                           critical_paid=Decimal("0.00")) for a in amounts]
    return make_case(team, "draft", person=person, claims=claims)


def _add_claim(app, amount):
    """A claim added to the case as ``add_claims`` does (the change bumps the revision)."""
    claim = ClaimFactory(person=app.person, total=amount, policy_scope=amount, basic_paid=Decimal("0.00"),
                         critical_paid=Decimal("0.00"))
    ApplicationClaim.objects.create(application=app, claim=claim)
    Application.objects.filter(pk=app.pk).update(calc_revision=F("calc_revision") + 1)
    app.refresh_from_db()


def test_a_year_beyond_the_largest_stored_amount_is_refused_and_blocks_review():
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX])
    settlement_service.settle_application(app.pk)
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    _add_claim(app, MAX)  # a second claim of the same size reaches the case under review
    settlement_service.settle_application(app.pk)  # as the worker does after each change
    current = Settlement.objects.get(application=app, status="current")
    assert current.refused and "999,999,999,999.99" in current.refusals()[0]
    assert current.errors[0]["code"] == "case.too_large"
    with pytest.raises(workflow.SettlementNotReady) as err:
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass")
    assert "999,999,999,999.99" in str(err.value)


def test_one_claim_at_the_largest_amount_settles():
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX])
    settlement_service.settle_application(app.pk)
    current = Settlement.objects.get(application=app, status="current")
    assert not current.refused and current.total == MAX


def test_a_failed_calculation_blocks_submission_and_shows_why_on_the_case(client):
    """Issue 13: a case whose settlement failed (here: beyond what can be stored) could still be
    submitted. Submit is refused in the transition service, and the case page shows why instead of
    the button."""
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX, MAX])
    settlement_service.settle_application(app.pk)
    with pytest.raises(workflow.SettlementNotReady) as err:
        workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    assert err.value.code == "calculation_failed" and "999,999,999,999.99" in str(err.value)
    app.refresh_from_db()
    assert app.state == "draft"
    assert "submit" not in workflow.allowed_actions(team.caseworker, app)
    client.force_login(team.caseworker)
    page = client.get(f"/cases/{app.pk}/").content.decode()
    assert 'data-action="submit"' not in page
    assert "结算计算失败" in page and "999,999,999,999.99" in page.split("data-unavailable", 1)[-1]


def test_a_calculation_that_fails_after_submission_blocks_the_start_of_review():
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX])
    settlement_service.settle_application(app.pk)
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    _add_claim(app, MAX)  # a second claim of the same size reaches the case while it waits for review
    settlement_service.settle_application(app.pk)
    with pytest.raises(workflow.SettlementNotReady) as err:
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    assert err.value.code == "calculation_failed"


def test_a_case_whose_claims_were_corrected_can_be_submitted_again():
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX, MAX])
    settlement_service.settle_application(app.pk)
    assert workflow.calculation_problem(app)
    # the change bumps the revision: the failed settlement no longer counts until recalculated
    type(app).objects.filter(pk=app.pk).update(calc_revision=app.calc_revision + 1)
    app.refresh_from_db()
    assert workflow.calculation_problem(app) is None
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
