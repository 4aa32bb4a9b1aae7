"""Amounts at the edge of what is stored (issue 13: two claims of 999 999 999 999.99 left a case
"calculating" forever): the settlement is refused with a reason the case shows, and the case
cannot pass review."""
from decimal import Decimal

import pytest

from cases.models import Settlement
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


def test_a_year_beyond_the_largest_stored_amount_is_refused_and_blocks_review():
    add_statistics()
    team = make_team("360700")
    app = _case_with(team, [MAX, MAX])
    settlement_service.settle_application(app.pk)
    current = Settlement.objects.get(application=app, status="current")
    assert current.refused and "999,999,999,999.99" in current.errors[0]
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    settlement_service.settle_application(app.pk)  # as the worker does after each change
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
