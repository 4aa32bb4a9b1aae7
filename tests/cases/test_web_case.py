"""The case page: exactly the actions the user may take now, reasons, conflicts shown as messages,
the settlement (calculating with htmx polling, refused, ready), the timeline, the slip."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import Application, ApplicationState, Settlement, SettlementStatus
from cases.selectors import allowed_actions
from cases.services import applications, settlement, workflow
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.web import page

pytestmark = pytest.mark.django_db

STATES = ["draft", "submitted", "in_review", "awaiting_identity", "reviewed", "returned", "approved", "in_payment",
          "paid", "rejected", "withdrawn"]
ROLES = ["caseworker", "reviewer", "approver", "payment", "auditor", "civil"]



def shown_actions(body: str) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', body)


def messages_in(body: str) -> list[str]:
    box = re.search(r'<ul class="messages">(.*?)</ul>', body, re.S)
    return re.findall(r"<li[^>]*>(.*?)</li>", box.group(1), re.S) if box else []


@pytest.mark.parametrize("state", STATES)
def test_the_case_page_shows_exactly_the_allowed_actions(client, team, state):
    app = make_case(team, state)
    url = reverse("cases:case", args=[app.pk])
    for role in ROLES:
        user = getattr(team, role)
        response, body = page(client, user, url)
        if role == "civil" and state != "awaiting_identity":
            assert response.status_code == 404, (state, role)
            continue
        assert response.status_code == 200, (state, role)
        app.refresh_from_db()
        expected = allowed_actions(user, app)
        assert sorted(shown_actions(body)) == sorted(expected), (state, role, expected)
        assert len(shown_actions(body)) == len(set(shown_actions(body)))
        if not expected:
            assert "本案件当前没有需要您办理的事项" in body


def test_the_case_page_is_in_chinese_with_person_masked(client, team):
    app = make_case(team, "reviewed")
    response, body = page(client, team.approver, reverse("cases:case", args=[app.pk]))
    assert response.status_code == 200
    for text in ("当前可办理", "审批", "不予救助", "测算结果", "办理记录", "救助身份", "本案结算记录"):
        assert text in body, text
    assert app.person.masked_id_number in body and app.person.id_number not in body
    assert "查看完整号码" in body  # approvers may see the full number (logged)
    _, body = page(client, team.caseworker, reverse("cases:case", args=[app.pk]))
    assert "查看完整号码" not in body and app.person.id_number not in body


def test_the_timeline_says_who_when_from_and_to_with_the_comment(client, team):
    app = make_case(team, "returned")
    _, body = page(client, team.caseworker, reverse("cases:case", args=[app.pk]))
    timeline = body[body.index('id="timeline"'):]
    assert team.reviewer.display_name in timeline and "退回补正" in timeline and "补正材料" in timeline
    assert timeline.index("已受理") < timeline.index("审核中")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", timeline)


def test_an_action_moves_the_case_and_says_so(client, team):
    app = make_case(team, "submitted")
    client.force_login(team.reviewer)
    response = client.post(reverse("cases:case_act", args=[app.pk]),
                           {"action": "start_review", "expected_state": "submitted", "comment": "开始"}, follow=True)
    body = response.content.decode()
    app.refresh_from_db()
    assert app.state == ApplicationState.IN_REVIEW
    assert any("开始审核" in m and "审核中" in m for m in messages_in(body))
    assert app.events.last().comment == "开始"


@pytest.mark.parametrize("action", ["return", "reject"])
def test_return_and_reject_without_a_reason_show_the_error_next_to_the_box(client, team, action):
    app = make_case(team, "in_review")
    client.force_login(team.reviewer)
    response = client.post(reverse("cases:case_act", args=[app.pk]),
                           {"action": action, "expected_state": "in_review", f"{action}-comment": "   "})
    body = response.content.decode()
    assert response.status_code == 400
    assert "请填写理由" in body and 'aria-invalid="true"' in body
    assert re.search(rf'<details class="reason-box" open>\s*<summary[^>]*>[^<]*</summary>\s*<form[^>]*id="form-{action}"', body)
    app.refresh_from_db()
    assert app.state == ApplicationState.IN_REVIEW


def test_return_with_a_reason_goes_back_to_the_caseworker(client, team):
    app = make_case(team, "in_review")
    client.force_login(team.reviewer)
    client.post(reverse("cases:case_act", args=[app.pk]),
                {"action": "return", "expected_state": "in_review", "return-comment": "请补充费用清单"})
    app.refresh_from_db()
    assert app.state == ApplicationState.RETURNED and app.events.last().comment == "请补充费用清单"
    _, body = page(client, team.caseworker, reverse("cases:case", args=[app.pk]))
    assert "请补充费用清单" in body and "resubmit" in shown_actions(body)


def test_a_conflict_is_a_message_not_an_error_page(client, team):
    app = make_case(team, "submitted")
    # Both reviewers open the page (state: submitted); the second one clicks after the first.
    workflow.transition(acting_user=team.reviewer2, application_id=app.pk, action="start_review")
    client.force_login(team.reviewer)
    response = client.post(reverse("cases:case_act", args=[app.pk]),
                           {"action": "start_review", "expected_state": "submitted"}, follow=True)
    assert response.status_code == 200
    texts = messages_in(response.content.decode())
    assert any("已是“审核中”" in t and team.reviewer2.display_name in t for t in texts), texts
    # pass with a stale expected state: the same clear message
    response = client.post(reverse("cases:case_act", args=[app.pk]),
                           {"action": "pass", "expected_state": "submitted"}, follow=True)
    assert response.status_code == 200 and any(team.reviewer2.display_name in t for t in messages_in(response.content.decode()))
    app.refresh_from_db()
    assert app.state == ApplicationState.IN_REVIEW


def test_refusals_of_the_service_are_messages(client, team):
    app = make_case(team, "reviewed")
    # The reviewer who passed the case also holds the approver role: four eyes refuses it.
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    RoleAssignment.objects.create(user=team.reviewer, role="approver", region_id="360700", department_id="medical_security")
    forget_grants(team.reviewer)
    _, body = page(client, team.reviewer, reverse("cases:case", args=[app.pk]))
    assert "approve" not in shown_actions(body)
    response = client.post(reverse("cases:case_act", args=[app.pk]), {"action": "approve", "expected_state": "reviewed"},
                           follow=True)
    assert response.status_code == 200
    assert any("您是本案审核人，不能审批本案" in t for t in messages_in(response.content.decode()))
    app.refresh_from_db()
    assert app.state == ApplicationState.REVIEWED
    # a caseworker cannot submit a case without claims: the reason is shown
    empty = applications.create_application(acting_user=team.caseworker, person_id=person_with_identity().pk, year=2023)
    client.force_login(team.caseworker)
    response = client.post(reverse("cases:case_act", args=[empty.pk]), {"action": "submit", "expected_state": "draft"},
                           follow=True)
    assert response.status_code == 200
    assert any("提交前请至少加入一条结算记录" in t for t in messages_in(response.content.decode()))
    empty.refresh_from_db()
    assert empty.state == ApplicationState.DRAFT


def test_unknown_actions_and_payment_actions_are_refused_politely(client, team):
    app = make_case(team, "approved")
    client.force_login(team.payment)
    for action in ("batch", "bank_ok", "nonsense"):
        response = client.post(reverse("cases:case_act", args=[app.pk]), {"action": action}, follow=True)
        assert response.status_code == 200 and messages_in(response.content.decode()), action
    app.refresh_from_db()
    assert app.state == ApplicationState.APPROVED


def test_the_reviewer_asks_the_department_through_the_exchange(client, team):
    app = make_case(team, "in_review")
    _, body = page(client, team.reviewer, reverse("cases:case", args=[app.pk]))
    link = reverse("exchange:confirmation_new") + f"?application={app.pk}"
    assert f'href="{link}"' in body and "请部门确认身份" in body
    assert client.get(link).status_code == 200


def test_the_liaison_answers_on_the_confirmation_page(client, team):
    app = make_case(team, "awaiting_identity")
    _, body = page(client, team.civil, reverse("cases:case", args=[app.pk]))
    assert shown_actions(body) == ["identity_answered"]
    assert reverse("exchange:confirmation_list") in body
    assert page(client, team.rural, reverse("cases:case", args=[app.pk]))[0].status_code == 404


# --- The settlement block ---------------------------------------------------------------------------


def test_calculating_then_ready_with_htmx_polling(client, team):
    person = person_with_identity()
    claim = ClaimFactory(person=person)
    app = applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=2023,
                                          claim_ids=[claim.pk])  # on-commit jobs do not run: not settled yet
    url = reverse("cases:case", args=[app.pk])
    _, body = page(client, team.caseworker, url)
    assert "正在测算" in body
    poll = reverse("cases:case_settlement", args=[app.pk])
    assert f'hx-get="{poll}?waiting=1"' in body and 'hx-trigger="every 2s"' in body
    assert "htmx" in body  # the script is on the page
    fragment = client.get(poll + "?waiting=1", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "正在测算" in fragment.content.decode() and "HX-Refresh" not in fragment
    settlement.settle_application(app.pk, reason="test")
    fragment = client.get(poll + "?waiting=1", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"
    _, body = page(client, team.caseworker, url)
    assert "正在测算" not in body and "hx-trigger" not in body
    current = Settlement.objects.get(application=app, status=SettlementStatus.CURRENT)
    assert f"{current.payable:,.2f}" in body and "赣市府办字〔2022〕112号" in body


def test_the_settlement_table_shows_every_column_and_the_totals(client, team):
    app = make_case(team, "reviewed", tilted=True)
    current = Settlement.objects.get(application=app, status=SettlementStatus.CURRENT)
    line = current.lines.get(in_application=True)
    _, body = page(client, team.approver, reverse("cases:case", args=[app.pk]))
    block = body[body.index('id="settlement"'):body.index('id="timeline"')]
    for header in ("医疗费总额", "基本医保", "大病保险", "政策范围内个人自付", "医疗救助", "倾斜救助", "个人负担", "应支付", "政策文件", "说明"):
        assert header in block, header
    row = re.search(rf'<tr data-claim="{line.claim_id}">(.*?)</tr>', block, re.S).group(1)
    for field in ("total", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket", "payable"):
        assert f"{getattr(line, field):,.2f}" in row, field
    assert "低保对象" in row and line.policy in row
    assert f'data-total="payable">{current.payable:,.2f}' in block


def test_a_refused_settlement_shows_the_engines_messages(client, team):
    app = make_case(team, "draft")
    current = settlement.settle_application(app.pk, reason="test")
    Settlement.objects.filter(pk=current.pk).update(errors=["缺少 2022 年度城镇居民人均可支配收入"], payable=None)
    _, body = page(client, team.caseworker, reverse("cases:case", args=[app.pk]))
    assert "政策引擎无法测算本案件" in body and "缺少 2022 年度城镇居民人均可支配收入" in body
    assert "hx-trigger" not in body  # nothing to wait for
    assert reverse("cases:slip", args=[app.pk]) not in body


# --- The slip -----------------------------------------------------------------------------------------


def slip_cells(body: str) -> dict[tuple[str, str], Decimal]:
    cells = {}
    for claim, row in re.findall(r'<tr data-claim="([^"]+)">(.*?)</tr>', body, re.S):
        for field, value in re.findall(r'data-field="([a-z_]+)">([^<]+)<', row):
            cells[(claim, field)] = Decimal(value.replace(",", "").strip())
    return cells


@pytest.mark.parametrize("state,tilted", [("approved", True), ("reviewed", False), ("paid", False)])
def test_the_slip_numbers_are_the_stored_settlement(client, team, state, tilted):
    person = person_with_identity(category="tekun")
    claims = [ClaimFactory(person=person), ClaimFactory(person=person, total=Decimal("9000.00"), policy_scope=Decimal("8000.00"),
                                                        basic_paid=Decimal("4500.00"), critical_paid=Decimal("0.00"),
                                                        maf_pay=Decimal("500.00"), kind="outpatient_chronic")]
    app = make_case(team, state, person=person, claims=claims, tilted=tilted)
    app.refresh_from_db()
    stored = app.approved_settlement or Settlement.objects.get(application=app, status=SettlementStatus.CURRENT)
    response, body = page(client, team.auditor, reverse("cases:slip", args=[app.pk]))
    assert response.status_code == 200
    cells = slip_cells(body)
    lines = list(stored.lines.filter(in_application=True))
    assert len(lines) == 2
    for line in lines:
        for field in ("total", "basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket"):
            assert cells[(str(line.claim_id), field)] == getattr(line, field), (line.claim_id, field)
        # …which are the engine's numbers
        engine_row = next(r for r in stored.result["claims"] if r["id"] == f"c{line.claim_id}")
        for field in ("basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket"):
            assert cells[(str(line.claim_id), field)] == Decimal(str(engine_row[field])), field
        assert line.policy in body
    for field in ("total", "basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket"):
        assert cells[("total", field)] == getattr(stored, field), field
    payable = re.search(r'data-sum="payable">([^<]+?) 元', body).group(1)
    assert Decimal(payable.replace(",", "")) == stored.payable
    assert app.person.masked_id_number in body and app.person.id_number not in body
    assert app.number in body and "医疗救助结算单" in body and "data-print" in body  # portal.js prints (no inline script: CSP)


def test_the_slip_prints_on_a4_without_navigation(client, team):
    from django.contrib.staticfiles import finders

    css = open(finders.find("cases/cases.css"), encoding="utf-8").read()
    print_css = css[css.index("@media print"):]
    assert "size: A4" in print_css and "page-break-inside: avoid" in print_css
    app = make_case(team, "approved")
    _, body = page(client, team.approver, reverse("cases:slip", args=[app.pk]))
    toolbar = re.search(r'<div class="slip-toolbar no-print">.*?</div>', body, re.S).group(0)
    assert "打印" in toolbar
    assert '<header class="topbar no-print">' in body  # base.html: the navigation is not printed


def test_the_slip_of_a_case_still_calculating_says_so(client, team):
    person = person_with_identity()
    app = applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=2023,
                                          claim_ids=[ClaimFactory(person=person).pk])
    response, body = page(client, team.caseworker, reverse("cases:slip", args=[app.pk]))
    assert response.status_code == 409 and "测算完成后即可打印结算单" in body


def test_the_full_number_is_shown_on_request_and_logged(client, team):
    from cases.models import IdNumberView

    app = make_case(team, "in_review")
    client.force_login(team.reviewer)
    url = reverse("cases:person_reveal", args=[app.person_id])
    response = client.post(url, {"case": app.pk}, HTTP_HX_REQUEST="true")  # no reason: asked for one
    assert app.person.id_number not in response.content.decode() and not IdNumberView.objects.exists()
    assert "请说明查看完整号码的理由" in response.content.decode()
    response = client.post(url, {"case": app.pk, "reason": "与申请材料核对"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and app.person.id_number in response.content.decode()
    view = IdNumberView.objects.get()
    assert view.user == team.reviewer and app.number in view.context and view.reason == "与申请材料核对"
    client.force_login(team.caseworker)
    assert client.post(url, {"case": app.pk, "reason": "x"}).status_code == 403
    assert IdNumberView.objects.count() == 1


def test_approve_through_the_page_uses_the_settlement(client, team):
    app = make_case(team, "reviewed")
    client.force_login(team.approver)
    client.post(reverse("cases:case_act", args=[app.pk]), {"action": "approve", "expected_state": "reviewed"})
    app = Application.objects.get(pk=app.pk)
    assert app.state == ApplicationState.APPROVED and app.amount_approved == app.approved_settlement.payable
