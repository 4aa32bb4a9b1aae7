"""Assignment and transfer of cases (分办转办): a supervisor gives a case to a named colleague, who
then alone acts on it at that stage; transfers need a reason; every step is on the timeline; a case
waiting past its region's time limit is flagged."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import ApplicationEvent, StageTimeLimit
from cases.services import assignment, workflow
from cases.services.errors import Conflict, NotPermitted
from portal.roles.models import RoleAssignment
from portal.roles.scoping import forget_grants
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def supervise(user, region="360700"):
    RoleAssignment.objects.get_or_create(user=user, role="supervisor", region_id=region)
    forget_grants(user)
    return user


def test_only_the_assignee_acts_at_the_stage_and_the_others_still_read(client, team):
    app = make_case(team, "submitted")
    boss = supervise(team.reviewer)
    assignment.assign(acting_user=boss, application_id=app.pk, assignee_id=team.reviewer2.pk)

    with pytest.raises(workflow.NotAssignee) as refused:
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    assert team.reviewer2.display_name in refused.value.message and refused.value.http_status == 403

    client.force_login(team.reviewer)
    page = client.get(reverse("cases:case", args=[app.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert f"已分配给{team.reviewer2.display_name}，本环节由其办理" in body
    assert 'data-action="start_review"' not in body

    workflow.transition(acting_user=team.reviewer2, application_id=app.pk, action="start_review")
    workflow.transition(acting_user=team.reviewer2, application_id=app.pk, action="pass")
    app.refresh_from_db()
    # the review assignment lapsed with the stage: any approver of the region may approve
    assert assignment.assignee_of(app) is None
    workflow.transition(acting_user=team.approver, application_id=app.pk, action="approve")


def test_a_transfer_needs_a_reason_and_every_step_is_on_the_timeline(client, team):
    app = make_case(team, "submitted")
    boss = supervise(team.reviewer)
    assignment.assign(acting_user=boss, application_id=app.pk, assignee_id=team.reviewer2.pk)
    with pytest.raises(ValidationError) as missing:
        assignment.assign(acting_user=boss, application_id=app.pk, assignee_id=team.reviewer.pk)
    assert "reason" in missing.value.message_dict
    # the assignee passes it on, with a reason
    assignment.assign(acting_user=team.reviewer2, application_id=app.pk, assignee_id=team.reviewer.pk,
                      reason="休假")
    events = list(ApplicationEvent.objects.filter(application=app, action__in=["assign", "transfer"]).order_by("id"))
    assert [(e.action, e.actor_id) for e in events] == [("assign", boss.pk), ("transfer", team.reviewer2.pk)]
    assert "休假" in events[1].comment and team.reviewer.display_name in events[1].comment

    client.force_login(team.auditor)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    timeline = body.split('id="timeline"')[1]
    assert "分办" in timeline and "转办" in timeline and "休假" in timeline
    # each row names from whom to whom, not the same state twice
    rows = [row for row in timeline.split("<li")[1:] if "data-assignment" in row]
    assert f"— → {team.reviewer2.display_name}" in rows[0]
    assert f"{team.reviewer2.display_name} → {team.reviewer.display_name}" in rows[1] and "原因：休假" in rows[1]
    assert "badge" not in rows[0] + rows[1]


def test_who_may_assign_and_to_whom(team, cz_team):
    app = make_case(team, "submitted")
    with pytest.raises(NotPermitted):  # a reviewer without the supervising role
        assignment.assign(acting_user=team.reviewer, application_id=app.pk, assignee_id=team.reviewer2.pk)
    boss = supervise(team.approver)
    with pytest.raises(ValidationError):  # not a reviewer of the region
        assignment.assign(acting_user=boss, application_id=app.pk, assignee_id=cz_team.reviewer.pk)
    with pytest.raises(ValidationError):  # an approver cannot take the review stage
        assignment.assign(acting_user=boss, application_id=app.pk, assignee_id=team.approver2.pk)

    reviewed = make_case(team, "reviewed")
    with pytest.raises(ValidationError) as four_eyes:
        assignment.assign(acting_user=boss, application_id=reviewed.pk, assignee_id=team.reviewer.pk)
    assert "assignee" in four_eyes.value.message_dict
    assignment.assign(acting_user=boss, application_id=reviewed.pk, assignee_id=team.approver2.pk)
    with pytest.raises(workflow.NotAssignee):
        workflow.transition(acting_user=team.approver, application_id=reviewed.pk, action="approve")

    draft = make_case(team, "draft")
    with pytest.raises(Conflict):
        assignment.assign(acting_user=boss, application_id=draft.pk, assignee_id=team.reviewer2.pk)


def test_the_assignee_sees_the_case_in_their_queue_and_on_their_home_page(client, team):
    app = make_case(team, "submitted")
    other = make_case(team, "submitted")
    boss = supervise(team.reviewer)
    client.force_login(boss)
    response = client.post(reverse("cases:case_assign", args=[app.pk]), {"assignee": team.reviewer2.pk})
    assert response.status_code == 302

    client.force_login(team.reviewer2)
    body = client.get(reverse("cases:queue") + "?queue=assigned").content.decode()
    assert app.number in body and other.number not in body
    home = client.get(reverse("home")).content.decode()
    assert "分配给我的" in home and reverse("cases:queue") + "?queue=assigned" in home

    client.force_login(team.reviewer)
    body = client.get(reverse("cases:queue") + "?queue=to_review").content.decode()
    assert app.number in body and "data-assignee" in body and team.reviewer2.display_name in body


def test_a_case_waiting_past_its_regions_limit_is_flagged_and_no_limit_is_invented(client, team):
    app = make_case(team, "submitted")
    type(app).objects.filter(pk=app.pk).update(state_changed_at=timezone.now() - datetime.timedelta(days=9))
    client.force_login(team.reviewer)
    url = reverse("cases:queue") + "?queue=to_review"
    assert "data-overdue" not in client.get(url).content.decode()  # no limit set for 赣州: nothing flagged

    StageTimeLimit.objects.create(region_id="360700", state="submitted", days=5, basis="演示")
    body = client.get(url).content.decode()
    assert "data-overdue" in body and "9" in body.split("data-overdue")[1][:300]

    StageTimeLimit.objects.filter(region_id="360700").update(days=10)
    assert "data-overdue" not in client.get(url).content.decode()
