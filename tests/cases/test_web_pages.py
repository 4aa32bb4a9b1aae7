"""The cases pages as their users meet them: in Chinese, the menu per role, each page for its
roles and refused (403) for the others, anonymous users sent to log in, keyset pages."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.models import Application
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def get(client, user, url, **kwargs):
    client.force_login(user)
    response = client.get(url, **kwargs)
    return response, response.content.decode()


def menu_labels(body: str) -> list[str]:
    nav = re.search(r'<nav class="mainnav".*?</nav>', body, re.S).group(0)
    return re.findall(r">([^<>]+)</a>", nav)


MENU = {
    "caseworker": {"我的草稿", "案件查询", "人员", "理赔导入"},
    "reviewer": {"待审核", "案件查询", "人员"},
    "approver": {"待审批", "支付批次", "案件查询", "人员"},
    "payment": {"待支付", "支付批次", "案件查询", "人员"},
    "auditor": {"支付批次", "案件查询", "人员"},
}
ALL_ENTRIES = {"我的草稿", "待审核", "待审批", "待支付", "支付批次", "案件查询", "人员", "理赔导入"}


@pytest.mark.parametrize("role", list(MENU))
def test_menu_entries_per_role(client, team, role):
    _, body = get(client, getattr(team, role), reverse("home"))
    shown = set(menu_labels(body)) & ALL_ENTRIES
    assert shown == MENU[role]


def test_liaisons_get_persons_only(client, team):
    _, body = get(client, team.civil, reverse("home"))
    assert set(menu_labels(body)) & ALL_ENTRIES == {"人员"}


def test_anonymous_users_are_sent_to_log_in(client):
    for name in ("cases:queue", "cases:persons", "cases:claim_import", "cases:payments", "cases:batches"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response["Location"], name


QUEUE_TITLES = {
    "my_drafts": ("caseworker", "我的草稿和退回案件"),
    "to_review": ("reviewer", "待审核案件"),
    "to_approve": ("approver", "待审批案件"),
    "to_pay": ("payment", "已审批待支付案件"),
}


@pytest.mark.parametrize("queue", list(QUEUE_TITLES))
def test_each_queue_renders_in_chinese_for_its_role_and_is_refused_to_the_others(client, team, queue):
    role, title = QUEUE_TITLES[queue]
    url = reverse("cases:queue") + f"?queue={queue}"
    response, body = get(client, getattr(team, role), url)
    assert response.status_code == 200 and title in body and "案件编号" in body
    for other in ("caseworker", "reviewer", "approver", "payment", "auditor"):
        if other != role:
            assert get(client, getattr(team, other), url)[0].status_code == 403, (queue, other)
    assert get(client, team.civil, url)[0].status_code == 403


def test_queues_hold_the_right_cases(client, team):
    draft = make_case(team, "draft")
    returned = make_case(team, "returned")
    submitted = make_case(team, "submitted")
    reviewed = make_case(team, "reviewed")
    approved = make_case(team, "approved")
    expect = {
        ("caseworker", "my_drafts"): {draft, returned},
        ("reviewer", "to_review"): {submitted},
        ("approver", "to_approve"): {reviewed},
        ("payment", "to_pay"): {approved},
    }
    for (role, queue), cases in expect.items():
        _, body = get(client, getattr(team, role), reverse("cases:queue") + f"?queue={queue}")
        for app in (draft, returned, submitted, reviewed, approved):
            assert (app.number in body) == (app in cases), (queue, app.state)
    _, body = get(client, team.auditor, reverse("cases:queue"))
    assert all(a.number in body for a in (draft, returned, submitted, reviewed, approved))
    assert "全部案件" in body


def test_case_list_filters_by_state_year_and_region(client, team):
    a = make_case(team, "draft")
    b = make_case(team, "submitted", person=person_with_identity(region="360731"))
    url = reverse("cases:queue")
    _, body = get(client, team.auditor, url + "?state=submitted")
    assert b.number in body and a.number not in body
    _, body = get(client, team.auditor, url + "?region=360731")
    assert b.number in body and a.number not in body
    _, body = get(client, team.auditor, url + "?year=2022")
    assert a.number not in body and b.number not in body and "没有符合条件的案件" in body


def test_keyset_pages_go_forward_and_back_without_counting(client, team, django_assert_max_num_queries):
    person = person_with_identity()
    from cases.services import applications

    for _ in range(53):
        applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=2023)
    ids = list(Application.objects.order_by("-id").values_list("pk", flat=True))
    client.force_login(team.auditor)
    url = reverse("cases:queue")
    with django_assert_max_num_queries(12) as queries:
        first = client.get(url).content.decode()
    # the cases are counted only over a LIMIT (the list's total is exact up to 10 000, estimated past
    # it), never over the whole table; the outbox's delayed-jobs notice may count its own small table
    counts = [q["sql"].upper() for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "cases_" in q["sql"]]
    assert counts and all("LIMIT 10001" in q for q in counts), counts
    assert "共 53 件" in first
    numbers = lambda body: [int(n) for n in re.findall(r"/cases/(\d+)/\"", body)]  # noqa: E731
    assert numbers(first) == ids[:50]
    assert "更多" in first and "上一页" not in first
    after = re.search(r'href="\?after=(\d+)"', first).group(1)
    second = client.get(url + f"?after={after}").content.decode()
    assert numbers(second) == ids[50:]
    assert "上一页" in second and 'rel="next"' not in second
    before = re.search(r'href="\?before=(\d+)"', second).group(1)
    back = client.get(url + f"?before={before}").content.decode()
    assert numbers(back) == ids[:50] and 'rel="prev"' not in back


def test_person_and_claim_pages_are_for_their_roles(client, team):
    person = person_with_identity()
    claim = ClaimFactory(person=person)
    caseworker_pages = [
        reverse("cases:person_new"), reverse("cases:person_edit", args=[person.pk]),
        reverse("cases:claim_new", args=[person.pk]), reverse("cases:claim_edit", args=[claim.pk]),
        reverse("cases:claim_import"), reverse("cases:application_new", args=[person.pk]),
    ]
    for url in caseworker_pages:
        response, body = get(client, team.caseworker, url)
        assert response.status_code == 200 and "医疗救助经办门户" in body, url
        for user in (team.approver, team.payment, team.auditor, team.civil):
            assert get(client, user, url)[0].status_code == 403, url
    # reviewers register and correct persons too (not claims or cases)
    assert get(client, team.reviewer, reverse("cases:person_new"))[0].status_code == 200
    assert get(client, team.reviewer, reverse("cases:claim_new", args=[person.pk]))[0].status_code == 403
    response, body = get(client, team.auditor, reverse("cases:person", args=[person.pk]))
    assert response.status_code == 200 and "救助身份" in body and "登记案件" not in body


def test_payment_pages_are_for_their_roles(client, team):
    make_case(team, "approved")
    response, body = get(client, team.payment, reverse("cases:payments"))
    assert response.status_code == 200 and "编制批次" in body and "已审批案件" in body
    for user in (team.caseworker, team.reviewer, team.approver, team.auditor):
        assert get(client, user, reverse("cases:payments"))[0].status_code == 403
    for user in (team.payment, team.approver, team.auditor):
        response, body = get(client, user, reverse("cases:batches"))
        assert response.status_code == 200 and "支付批次" in body
    for user in (team.caseworker, team.reviewer, team.civil):
        assert get(client, user, reverse("cases:batches"))[0].status_code == 403


def test_a_user_without_roles_is_refused(client, db):
    nobody = make_user()
    for name in ("cases:queue", "cases:persons", "cases:claim_import", "cases:payments", "cases:batches"):
        assert get(client, nobody, reverse(name))[0].status_code == 403, name


def test_the_home_page_counts_what_waits_in_each_queue_bounded(client, team, django_assert_max_num_queries):
    make_case(team, "submitted")
    make_case(team, "in_review")
    make_case(team, "reviewed")
    client.force_login(team.reviewer)
    body = client.get(reverse("home")).content.decode()
    tile = re.search(r'<a class="tile" href="/cases/\?queue=to_review">(.*?)</a>', body, re.S).group(1)
    assert '<span class="badge badge-warn"' in tile and ">2</span>" in tile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "cases_application" in q["sql"]]
    assert counts and all("LIMIT 100" in sql for sql in counts)


def test_more_than_99_waiting_shows_99_plus(team, monkeypatch):
    from cases import apps

    monkeypatch.setattr(apps, "COUNT_LIMIT", 1)
    make_case(team, "submitted")
    make_case(team, "submitted")
    assert apps.waiting("to_review")(team.reviewer) == "1+"
