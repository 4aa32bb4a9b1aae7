"""Announced amounts and statistics on one page per region and year: 沧州's 2023 deductibles are
refused until announced; the page suggests 10 % × I from the document's words but never applies it."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from policies import services
from policies.models import PolicyChange, Statistic

pytestmark = pytest.mark.django_db


def dibao_edge_2023(statistics=None) -> dict:
    payload = {
        "region": "130900",
        "person": {"residence": "rural", "scheme": "resident",
                   "identities": [{"category": "dibao_edge", "start": "2022-01-01", "end": None}]},
        "claims": [{"id": "a", "date": "2023-05-10", "kind": "inpatient", "hospital_level": 2, "location": "county",
                    "referral_compliant": True, "total": "20000.00", "policy_scope": "18000.00",
                    "basic_paid": "9000.00", "critical_paid": "0.00"}],
    }
    if statistics is not None:
        payload["statistics"] = statistics
    return payload


def test_cangzhou_2023_deductible_is_refused_until_announced_and_the_suggestion_is_never_applied(client, cz_admin):
    services.set_statistic(acting_user=cz_admin, region="130900", kind="city_income", year=2022,
                           value=Decimal("29000.00"), source="统计公报 2023-03")
    with pytest.raises(services.SettlementRefused) as refused:
        services.settle_payload(payload=dibao_edge_2023())
    message = refused.value.errors[0]  # worded for the reader: the announced amount by its name, not its code
    assert "低保边缘家庭成员年度起付标准" in message and "2023" in message and "尚未录入" in message

    client.force_login(cz_admin)
    page = client.get(reverse("policies:statistics"), {"region": "130900", "year": "2023"}).content.decode()
    section = page[page.index('id="figures"'):page.index("</section>", page.index('id="figures"'))]
    assert "低保边缘家庭成员年度起付标准" in section and "因病致贫重病患者年度起付标准" in section
    assert "未录入" in section and "二(三)" in section
    assert "2,900.00" in section and "建议" in section  # 10 % × 29 000, from "10%左右确定"
    assert "annual_deductible" not in section.replace('value="annual_deductible', "")  # names in words only
    with pytest.raises(services.SettlementRefused):  # seeing the suggestion applied nothing
        services.settle_payload(payload=dibao_edge_2023())
    assert not Statistic.objects.filter(kind="annual_deductible_dibao_edge").exists()

    response = client.post(reverse("policies:statistics"), {
        "figure": "annual_deductible_dibao_edge", "region": "130900", "year": "2023", "for_year": "2023",
        "value": "3000.00", "source": "沧州市医保局 2023年度起付标准公告"})
    assert response.status_code == 302
    result = services.settle_payload(payload=dibao_edge_2023())
    assert result["claims"][0]["assistance"] == "4020.00"  # 67 % of (9 000 − 3 000)
    page = client.get(reverse("policies:statistics"), {"region": "130900", "year": "2023"}).content.decode()
    assert "3,000.00" in page and "2023年度起付标准公告" in page
    change = PolicyChange.objects.get(path="annual_deductible_dibao_edge 2023")
    assert change.actor == cz_admin and change.what.startswith("低保边缘家庭成员年度起付标准")

    # an input's statistics may carry the announced amount by name
    result = services.settle_payload(payload=dibao_edge_2023({
        "city_income": {"2022": "29000.00"}, "annual_deductible_dibao_edge": {"2023": "2500.00"}}))
    assert result["claims"][0]["assistance"] == "4355.00"  # 67 % of (9 000 − 2 500)


def test_a_figure_no_policy_reads_is_refused(cz_admin):
    with pytest.raises(services.ChangeRefused):
        services.set_statistic(acting_user=cz_admin, region="130900", kind="annual_deductible_unknown", year=2023,
                               value="100.00", source="x")
    with pytest.raises(services.ChangeRefused):  # a statistic of a future year
        services.set_statistic(acting_user=cz_admin, region="130900", kind="city_income",
                               year=datetime.date.today().year + 1, value="100.00", source="x")


def test_other_regions_figures_are_not_entered(client, cz_admin, gz_admin):
    client.force_login(gz_admin)
    response = client.post(reverse("policies:statistics"), {
        "figure": "annual_deductible_dibao_edge", "region": "130900", "year": "2023", "for_year": "2023",
        "value": "3000.00", "source": "x"})
    assert response.status_code == 403
    assert not Statistic.objects.filter(kind="annual_deductible_dibao_edge").exists()
