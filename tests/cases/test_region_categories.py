"""Identities, the identity form and the case's ask-a-department form offer and accept the
categories a region's policy defines (policies.categories): 示例市 (449900) is created under 广东省
and its policy entered as data through the policy import (``tests.shili``), never seeded."""
from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases.models import Identity
from cases.services import persons
from tests.factories import PersonFactory, make_user
from tests.shili import CITY, COUNTY, enter_shili

from .factories import make_case, make_team, person_with_identity

pytestmark = pytest.mark.django_db


def test_a_liaison_records_the_regions_own_category_owned_by_the_department_its_policy_names():
    enter_shili()
    person = PersonFactory(region_id=CITY)
    liaison = make_user("liaison", region=CITY, department="civil_affairs")
    identity = persons.add_identity(acting_user=liaison, person_id=person.pk, category="de_facto_orphan",
                                    start=datetime.date(2024, 1, 1))
    assert isinstance(identity, Identity) and identity.department_id == "civil_affairs"
    assert str(identity).startswith("事实无人抚养儿童")


def test_a_category_the_persons_region_does_not_define_is_refused_naming_it():
    enter_shili()
    person = PersonFactory(region_id="360702")
    with pytest.raises(ValidationError) as refused:
        persons.add_identity(acting_user=make_user("liaison", region="360700", department="civil_affairs"),
                             person_id=person.pk, category="de_facto_orphan", start=datetime.date(2024, 1, 1))
    assert "de_facto_orphan" in " ".join(refused.value.message_dict["category"])
    assert not Identity.objects.filter(person=person).exists()


def test_a_county_person_holds_its_citys_categories_and_the_countys_own():
    enter_shili(county=True)
    person = PersonFactory(region_id=COUNTY)
    liaison = make_user("liaison", region=CITY, department="civil_affairs")
    for category in ("de_facto_orphan", "county_hardship"):
        persons.add_identity(acting_user=liaison, person_id=person.pk, category=category, start=datetime.date(2024, 1, 1))
    assert set(Identity.objects.filter(person=person).values_list("category", flat=True)) == {
        "de_facto_orphan", "county_hardship"}
    city_person = PersonFactory(region_id=CITY)
    with pytest.raises(ValidationError):
        persons.add_identity(acting_user=liaison, person_id=city_person.pk, category="county_hardship",
                             start=datetime.date(2024, 1, 1))


def test_the_identity_form_offers_the_regions_categories_in_chinese_words(client):
    enter_shili()
    person = PersonFactory(region_id=CITY)
    client.force_login(make_user("caseworker", region=CITY))
    response = client.get(reverse("cases:person", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    choices = dict(response.context["identity_form"].fields["category"].choices)
    assert str(choices["de_facto_orphan"]) == "事实无人抚养儿童"
    assert str(choices["dibao"]) == "低保对象"
    body = response.content.decode()
    assert '<option value="de_facto_orphan">事实无人抚养儿童</option>' in body
    # 360702's page does not offer 示例市's own category.
    other = PersonFactory(region_id="360702")
    client.force_login(make_user("caseworker", region="360700"))
    response = client.get(reverse("cases:person", args=[other.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "de_facto_orphan" not in dict(response.context["identity_form"].fields["category"].choices)


def test_a_reviewer_asks_the_department_its_policy_names_to_confirm_the_regions_own_category(client):
    from cases.exchange.services import confirmations
    from policies.models import Statistic

    enter_shili()
    for kind, value in (("city_income", "40000.00"), ("province_rural_income", "22000.00")):
        Statistic.objects.create(region_id=CITY, kind=kind, year=2022, value=value, source="测试")
    team = make_team(CITY)
    app = make_case(team, "in_review", person=person_with_identity(region=CITY, category="dibao"))
    client.force_login(team.reviewer)
    page = client.get(reverse("cases:case", args=[app.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert ("de_facto_orphan", "事实无人抚养儿童") in [(c, str(n)) for c, n in page.context["ask_categories"]]
    request = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk,
                                           category="de_facto_orphan", claimed_start=datetime.date(2023, 1, 1))
    app.refresh_from_db()
    assert app.state == "awaiting_identity" and app.pending_category == "de_facto_orphan"
    assert request.department_id == "civil_affairs" and request.get_category_display() == "事实无人抚养儿童"
