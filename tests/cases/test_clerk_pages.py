"""What a clerk reads on every page: role badges naming the region and department, the portal's own
error pages, one money format, and the legal basis of the region whose subsidy list it is."""
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from tests.cases.factories import make_case
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_role_badges_name_the_region_and_the_liaisons_department(client):
    liaison = make_user("liaison", region="360700", department="rural_revitalisation")
    client.force_login(liaison)
    body = client.get(reverse("home")).content.decode()
    assert "· 赣州市 · 乡村振兴局</span>" in body
    assert "· 360700<" not in body

    reviewer = make_user("reviewer", region="130900")
    client.force_login(reviewer)
    body = client.get(reverse("home")).content.decode()
    assert "审核人 · 沧州市</span>" in body


def test_an_out_of_region_link_shows_the_portals_own_404(client, team, cz_team):
    app = make_case(cz_team, "submitted")
    client.force_login(team.reviewer)
    response = client.get(reverse("cases:case", args=[app.pk]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body and "其他地区的记录不予显示" in body
    assert "返回首页" in body
    assert app.person.name not in body


def test_the_error_pages_render_in_chinese(client):
    make_user("caseworker")
    response = client.get("/no-such-page/")
    assert response.status_code in (302, 404)
    for name, words in (("404.html", "页面不存在"), ("403.html", "无权操作"), ("400.html", "请求有误"),
                        ("500.html", "出现错误")):
        html = Template('{% include "' + name + '" %}').render(Context({}))
        assert words in html, name


@pytest.mark.parametrize("value, shown", [
    (Decimal("24675"), "24,675.00"), ("1234567.005", "1,234,567.01"), (0, "0.00"), (None, "—"), ("", "—"),
    ("abc", "—"), (Decimal("-3375.5"), "-3,375.50"),
])
def test_one_money_filter_for_every_part(value, shown):
    assert Template("{% load portal_ui %}{{ v|money }}").render(Context({"v": value})) == shown
    assert Template("{% load cases_ui %}{{ v|money }}").render(Context({"v": value})) == shown


@pytest.mark.parametrize("region, document, other", [
    ("360700", "赣市府办字〔2022〕112号", "沧政办规"),
    ("130900", "沧政办规〔2022〕7号", "赣市府办字"),
])
def test_the_subsidy_lists_cite_the_regions_own_document(client, region, document, other):
    client.force_login(make_user("liaison", region=region, department="finance"))
    response = client.get(reverse("enrolment:subsidy_lists"))
    assert response.status_code == 200
    body = response.content.decode()
    assert document in body
    assert other not in body


def test_the_claim_form_promises_a_computed_amount_only_where_the_policy_can_compute_it(client, team, cz_team):
    from tests.cases.factories import person_with_identity

    ganzhou = person_with_identity(region="360702")   # 赣州: no basic rule; the critical deductible is the province's
    client.force_login(team.caseworker)
    body = client.get(reverse("cases:claim_new", args=[ganzhou.pk])).content.decode()
    assert "不填则按政策计算" not in body
    assert "本地区政策未设基本医保规则，请按医院结算单填写" in body

    cangzhou = person_with_identity(region="130903")  # 沧州: its document has basic-insurance rules
    client.force_login(cz_team.caseworker)
    body = client.get(reverse("cases:claim_new", args=[cangzhou.pk])).content.decode()
    assert body.count("不填则按政策计算") == 1
    assert "本地区政策未设基本医保规则" not in body


def test_a_returned_case_shows_the_return_reason_at_the_top(client, team):
    app = make_case(team, "returned")  # returned with the comment 补正材料
    client.force_login(team.caseworker)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    top = body.split('id="actions"')[0]
    assert "data-return-reason" in top and "补正材料" in top and "已退回补正" in top
    assert team.reviewer.display_name in top


def test_a_zero_tilted_assistance_says_why(client, team):
    app = make_case(team, "submitted", tilted=False)
    settlement = app.settlements.get(status="current")
    assert settlement.tilted == 0
    client.force_login(team.reviewer)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    assert "倾斜救助为 0.00 的原因" in body
    assert "未申请" in body or "医疗救助尚未达到年度限额" in body or "倾斜救助起付标准" in body


def test_zero_tilted_reasons_follow_the_engines_notes():
    from types import SimpleNamespace as NS

    from django.utils import translation

    from cases.selectors import zero_tilted_reasons

    settlement = NS(tilted=Decimal("0.00"), refused=False)
    line = lambda *notes, own=True: NS(in_application=own, notes=list(notes))  # noqa: E731
    with translation.override("zh-hans"):
        assert zero_tilted_reasons(NS(tilted_applied=False), settlement, [line("倾斜救助需依申请")]) == [
            "未申请：倾斜救助需依申请给予。"]
        assert zero_tilted_reasons(NS(tilted_applied=True), settlement,
                                   [line("医疗救助未达年度限额，暂不给予倾斜救助")]) == [
            "医疗救助尚未达到年度限额：超出限额部分才给予倾斜救助。"]
        assert zero_tilted_reasons(NS(tilted_applied=True), settlement,
                                   [line("超出倾斜救助就医地域范围"), line("倾斜救助需依申请", own=False)]) == [
            "就医地超出倾斜救助范围（如省外就医）。"]
        assert "起付标准" in zero_tilted_reasons(NS(tilted_applied=True), settlement, [line()])[0]
        assert zero_tilted_reasons(NS(tilted_applied=True), NS(tilted=Decimal("12.00"), refused=False), [line()]) == []


def test_the_case_list_finds_by_the_last_digits_and_part_of_a_name_and_shows_its_total(client, team):
    from tests.cases.factories import person_with_identity

    person = person_with_identity(region="360702", name="欧阳春花")
    app = make_case(team, "submitted", person=person)
    other = make_case(team, "submitted")
    client.force_login(team.reviewer)
    base = reverse("cases:queue") + "?queue=to_review&q="
    for q in (person.id_number[-4:], person.id_number[-6:], "春花"):
        body = client.get(base + q).content.decode()
        assert app.number in body and other.number not in body, q
    body = client.get(reverse("cases:queue") + "?queue=to_review").content.decode()
    assert "共 2 件" in body


def test_bulk_start_review_and_approve_report_per_case_and_keep_four_eyes(client, team):
    first, second = make_case(team, "submitted"), make_case(team, "submitted")
    client.force_login(team.reviewer)
    queue = client.get(reverse("cases:queue") + "?queue=to_review").content.decode()
    assert 'data-bulk="start_review"' in queue
    body = client.post(reverse("cases:queue_bulk"), {"action": "start_review", "queue": "to_review",
                                                     "ids": [first.pk, second.pk]}).content.decode()
    assert body.count('data-result="ok"') == 2 and "已办理 2 件，未办理 0 件" in body
    first.refresh_from_db()
    assert first.state == "in_review"

    reviewed = make_case(team, "reviewed")           # passed by team.reviewer
    own = make_case(team, "reviewed")
    type(own).objects.filter(pk=own.pk).update(reviewed_by=team.approver)  # the approver reviewed this one
    client.force_login(team.approver)
    body = client.post(reverse("cases:queue_bulk"), {"action": "approve", "queue": "to_approve",
                                                     "ids": [reviewed.pk, own.pk]}).content.decode()
    assert body.count('data-result="ok"') == 1 and body.count('data-result="failed"') == 1
    failed_row = body.split('data-result="failed"')[1].split("</tr>")[0]
    assert own.number in failed_row and "审核" in failed_row  # four eyes, said per case
    reviewed.refresh_from_db(); own.refresh_from_db()  # noqa: E702
    assert reviewed.state == "approved" and own.state == "reviewed"
