"""Four eyes (issue 13, issue 14 item 4): the creator of a case neither reviews nor approves it, the
reviewer does not approve it; such a case never shows in the user's own 待审核 / 待审批 queue, and
the case page says why an action is not offered."""
import pytest
from django.urls import reverse

from cases import selectors
from cases.services import applications, settlement, workflow
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _draft_by(user):
    person = person_with_identity()
    app = applications.create_application(acting_user=user, person_id=person.pk, year=2023,
                                          claim_ids=[ClaimFactory(person=person).pk])
    settlement.settle_application(app.pk, reason="test")
    return app


def test_the_creator_of_a_case_cannot_review_it(team):
    both = make_user("caseworker", "reviewer", region=team.region)
    app = _draft_by(both)
    workflow.transition(acting_user=both, application_id=app.pk, action="submit")
    assert app.pk not in selectors.queue(both, queue="to_review").values_list("pk", flat=True)
    assert app.pk in selectors.queue(team.reviewer, queue="to_review").values_list("pk", flat=True)
    with pytest.raises(workflow.FourEyesViolation) as err:
        workflow.transition(acting_user=both, application_id=app.pk, action="start_review")
    assert "created this case" in str(err.value) or "创建" in str(err.value)
    app.refresh_from_db()
    assert "start_review" not in workflow.allowed_actions(both, app)
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    app.refresh_from_db()
    for action in ("pass", "return", "reject", "ask_department"):
        with pytest.raises(workflow.FourEyesViolation):
            workflow.check(both, app, action, comment="x", category="dibao", preconditions=False)


def test_the_creator_of_a_case_cannot_approve_it(team):
    both = make_user("caseworker", "approver", region=team.region)
    app = _draft_by(both)
    workflow.transition(acting_user=both, application_id=app.pk, action="submit")
    settlement.settle_application(app.pk, reason="test")
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass")
    assert app.pk not in selectors.queue(both, queue="to_approve").values_list("pk", flat=True)
    for action in ("approve", "reject"):
        with pytest.raises(workflow.FourEyesViolation):
            workflow.transition(acting_user=both, application_id=app.pk, action=action, comment="x")
    workflow.transition(acting_user=team.approver, application_id=app.pk, action="approve")


def test_the_reviewer_never_sees_the_case_in_their_approval_queue_and_the_page_says_why(client, team):
    both = make_user("reviewer", "approver", region=team.region)
    app = make_case(team, "in_review")
    workflow.transition(acting_user=both, application_id=app.pk, action="pass")
    app.refresh_from_db()
    assert app.reviewed_by == both
    assert app.pk not in selectors.queue(both, queue="to_approve").values_list("pk", flat=True)
    assert app.pk in selectors.queue(team.approver, queue="to_approve").values_list("pk", flat=True)
    assert workflow.unavailable_actions(team.approver, app) == []
    client.force_login(both)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    assert "您是本案审核人，不能审批本案" in body
    assert 'data-action="approve"' not in body
    client.force_login(team.approver)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    assert "不能审批本案" not in body and 'data-action="approve"' in body
