"""The stage time limits page: a region's supervisors and policy administrators set how many days a
case may wait at each stage (no default is invented); every change is recorded; the queues flag the
cases waiting past it."""
import datetime

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cases.models import StageTimeLimit
from portal.roles.models import RoleAssignment
from portal.roles.scoping import forget_grants
from tests.cases.factories import make_case
from tests.factories import make_user

pytestmark = pytest.mark.django_db
URL = reverse("cases:time_limits")


def post(client, region="360700", **days):
    data = {"region": region}
    for state, value in days.items():
        data[f"days-{state}"] = value
        data[f"basis-{state}"] = "赣州 十二 (演示)"
    return client.post(URL, data)


def test_a_supervisor_sets_a_limit_the_queue_flags_it_and_the_change_is_recorded(client, team):
    RoleAssignment.objects.get_or_create(user=team.reviewer, role="supervisor", region_id="360700")
    forget_grants(team.reviewer)
    app = make_case(team, "submitted")
    type(app).objects.filter(pk=app.pk).update(state_changed_at=timezone.now() - datetime.timedelta(days=9))
    client.force_login(team.reviewer)
    page = client.get(URL).content.decode()
    assert "环节时限" in page and 'name="days-submitted" value=""' in page  # nothing set: no limit shown

    response = post(client, submitted="5")
    assert response.status_code == 302
    limit = StageTimeLimit.objects.get(region_id="360700", state="submitted")
    assert limit.days == 5 and limit.basis == "赣州 十二 (演示)"
    if settings.IS_POSTGRES:  # the history is written by PostgreSQL triggers (django-pghistory)
        history = apps.get_model("cases", "StageTimeLimitHistory").objects.filter(pgh_obj_id=limit.pk)
        assert [(h.days, h.pgh_context.metadata.get("user")) for h in history] == [(5, team.reviewer.pk)]
    queue = client.get(reverse("cases:queue") + "?queue=to_review").content.decode()
    assert "data-overdue" in queue

    # emptied: the region's limit is removed, nothing invented in its place
    post(client, submitted="")
    assert not StageTimeLimit.objects.filter(region_id="360700").exists()
    assert "data-overdue" not in client.get(reverse("cases:queue") + "?queue=to_review").content.decode()


def test_bad_days_are_refused_in_chinese_naming_the_stage(client, team):
    admin = make_user("policy_admin", region="360700")
    client.force_login(admin)
    response = post(client, submitted="abc", in_review="3")
    assert response.status_code == 400
    body = response.content.decode()
    assert "已受理：时限天数须为 1 至 365 之间的整数。" in body
    assert not StageTimeLimit.objects.exists()  # nothing saved while one is wrong


def test_only_supervisors_and_policy_admins_of_the_region_set_limits(client, team, cz_team):
    client.force_login(team.caseworker)
    assert client.get(URL).status_code == 403
    cz_admin = make_user("policy_admin", region="130900")
    client.force_login(cz_admin)
    post(client, region="360700", submitted="5")  # another region: falls back to its own, 沧州
    assert not StageTimeLimit.objects.filter(region_id="360700").exists()
    # a limit set for the city shows on a county's page as set higher up
    post(client, region="130900", submitted="7")
    page = client.get(URL + "?region=130921").content.decode()
    assert "沧州市：7 天" in page
