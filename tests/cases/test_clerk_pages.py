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
    response = client.get(reverse("exchange:subsidy_lists"))
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
