"""Pushes accept the categories a region's policy defines (policy-model.md, Categories): 示例市
(449900) is created under 广东省 and its policy entered as data through the policy import
(``tests.shili``), never seeded. A row may name a category by its code, its Chinese name or any name
the policy lists for pushes; an unknown value is refused on its row, naming the column and the
value; a city's push accepts a category only one of its counties' versions defines."""
from __future__ import annotations

import pytest
from django.utils import translation

from cases.exchange.models import PushStatus
from cases.exchange.pushes import rules
from cases.models import Identity, Person
from tests.shili import CITY, COUNTY, enter_shili

from .helpers import civil_liaison, csv_bytes, new_number, push_file, rural_liaison

pytestmark = pytest.mark.django_db


def _row(number, category, region=COUNTY, name="林小花"):
    return [number, name, category, "新增", "2024-03-01", "示民发〔2024〕5号", region]


def test_a_push_of_the_regions_own_category_is_accepted_by_code_and_by_its_push_name():
    enter_shili()
    liaison = civil_liaison(region=CITY)
    by_name, by_code = new_number(CITY), new_number(CITY)
    push, _ = push_file(liaison, csv_bytes([_row(by_name, "事实无人抚养儿童", region=CITY),
                                            _row(by_code, "de_facto_orphan", region=CITY, name="林小草")]),
                        region=CITY)
    assert push.status == PushStatus.DONE and push.rows_rejected == 0, list(push.rejected_rows.values("errors"))
    for number in (by_name, by_code):
        identity = Identity.objects.get(person__id_number=number)
        # The region's own category wins over the national list's alias (事实无人抚养儿童 → orphan elsewhere).
        assert identity.category == "de_facto_orphan" and identity.department_id == "civil_affairs"
        assert identity.get_category_display() == "事实无人抚养儿童"


def test_an_unknown_category_is_refused_on_its_row_naming_the_column_and_the_value():
    enter_shili()
    liaison = civil_liaison(region=CITY)
    good, bad = new_number(CITY), new_number(CITY)
    push, _ = push_file(liaison, csv_bytes([_row(good, "低保对象", region=CITY),
                                            _row(bad, "外星困难户", region=CITY, name="王某")]), region=CITY)
    assert push.rows_rejected == 1 and Identity.objects.filter(person__id_number=good, category="dibao").exists()
    rejected = push.rejected_rows.get()
    assert rejected.category == "外星困难户" and not Person.objects.filter(id_number=bad).exists()
    assert [e["field"] for e in rejected.errors] == ["category"]
    with translation.override("zh-hans"):
        text = rules.message(rejected.errors[0])
    assert "类别" in text and "外星困难户" in text


def test_a_category_of_another_regions_policy_is_refused_where_it_is_not_defined():
    enter_shili()
    liaison = civil_liaison(region="360702")
    number = new_number("360702")
    push, _ = push_file(liaison, csv_bytes([_row(number, "de_facto_orphan", region="360702")]))
    assert push.rows_rejected == 1
    assert push.rejected_rows.get().errors[0]["code"] == "category_unknown"


def test_a_city_push_accepts_a_category_only_its_countys_version_defines():
    enter_shili(county=True)
    liaison = civil_liaison(region=CITY)
    number, other = new_number(COUNTY), new_number(COUNTY)
    push, _ = push_file(liaison, csv_bytes([_row(number, "县困难群众"), _row(other, "county_hardship", name="林二")]),
                        region=CITY)
    assert push.rows_rejected == 0, list(push.rejected_rows.values("errors"))
    assert set(Identity.objects.filter(category="county_hardship").values_list("person__id_number", flat=True)) == {
        number, other}


def test_the_owning_department_of_a_regional_category_is_the_one_its_policy_names():
    enter_shili()
    liaison = rural_liaison(region=CITY)
    push, _ = push_file(liaison, csv_bytes([_row(new_number(CITY), "事实无人抚养儿童", region=CITY)]),
                        department="rural_revitalisation", region=CITY)
    rejected = push.rejected_rows.get()
    assert rejected.errors[0]["code"] == "category_not_owned"
    with translation.override("zh-hans"):
        assert "事实无人抚养儿童" in rules.message(rejected.errors[0])
