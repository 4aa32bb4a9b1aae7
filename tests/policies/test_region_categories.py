"""policies.categories: the categories a region knows are the national list plus those its policy
versions define (and its city's, for a county; its counties', for what a city's pushes accept).
示例市 (449900) is created under 广东省 and its policy entered as data through the policy import
(``tests.shili``), never seeded. The statistics API takes any figure name the region's policy uses."""
from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from policies import categories
from policies.models import Statistic
from tests.factories import make_user
from tests.shili import CITY, COUNTY, enter_shili

pytestmark = pytest.mark.django_db


def test_a_regions_categories_are_the_national_list_and_its_policys_own():
    assert "de_facto_orphan" not in categories.codes_for(CITY[:2] + "0000")
    enter_shili(county=True)
    city = {c.code: c for c in categories.categories_for(CITY)}
    own = city["de_facto_orphan"]
    assert (own.chinese_name, own.department, own.region, own.clause) == ("事实无人抚养儿童", "civil_affairs", CITY, "第二条")
    assert "事实无人抚养儿童" in own.push_names and "county_hardship" not in city
    assert {"tekun", "dibao", "veteran_priority"} <= set(city)
    county = categories.codes_for(COUNTY)
    assert "de_facto_orphan" in county and "county_hardship" in county
    assert "county_hardship" in categories.codes_for(CITY, below=True)
    assert "de_facto_orphan" not in categories.codes_for("360700", below=True)
    # Not yet in force on a date before the version: only the national list.
    assert "de_facto_orphan" not in categories.codes_for(CITY, on=datetime.date(2022, 6, 1))
    assert categories.label("de_facto_orphan") == "事实无人抚养儿童"
    assert categories.owner("county_hardship") == "civil_affairs"


def test_a_push_name_of_the_regions_own_category_takes_over_the_national_alias():
    enter_shili()
    lookup = categories.push_lookup(categories.categories_for(CITY))
    assert lookup["事实无人抚养儿童"] == "de_facto_orphan" and lookup["de_facto_orphan"] == "de_facto_orphan"
    assert categories.push_lookup(list(categories.NATIONAL))["事实无人抚养儿童"] == "orphan"
    assert lookup["低保"] == "dibao"


def test_the_statistics_api_takes_any_figure_name_the_regions_policy_uses():
    admin = make_user("policy_admin", region="130900")
    client = APIClient()
    client.force_authenticate(admin)
    data = {"region": "130900", "kind": "annual_deductible_dibao_edge", "year": 2023, "value": "2700.00",
            "source": "沧州市医疗保障局公告"}
    response = client.post("/api/v1/policy-statistics/", data, format="json")
    assert response.status_code == 201, response.content
    assert Statistic.objects.get(region_id="130900", kind="annual_deductible_dibao_edge").value == 2700
    response = client.post("/api/v1/policy-statistics/", {**data, "kind": "made_up_figure"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "kind"
    assert "made_up_figure" in response.json()["detail"]
