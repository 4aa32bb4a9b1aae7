"""An honest what-if: each claim names the version that settled it; a chosen version that does not
cover a claim's date is reported, not silently replaced; version A and version B side by side; a
real case of the user's region loaded with the identity number masked, other regions' refused."""
from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from cases import identity_numbers
from policies import services
from tests.cases.factories import ClaimFactory, make_case, make_team, person_with_identity

from .conftest import load_example, route_index, whatif_data

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def moved_draft(gz_admin, ganzhou):
    """A draft of 赣州 paying 低保 80 % instead of 75 %, planned in force from 2024."""
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio",
                           value="0.80")
    services.update_version_meta(acting_user=gz_admin, version=draft, in_force_from=D(2024, 1, 1), retroactive_from=None)
    return draft


def row_of(body: str, claim: str) -> str:
    start = body.index(f'data-claim="{claim}"')
    return body[start:body.index("</tr>", start)]


def test_a_chosen_version_not_covering_a_claim_date_is_reported_not_silently_replaced(client, gz_admin, ganzhou, moved_draft):
    payload, expected = load_example("ganzhou_class2_annual_cap")  # claims of 2023
    client.force_login(gz_admin)
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(moved_draft.pk)))
    body = response.content.decode()
    assert response.status_code == 200, body[:3000]
    row = row_of(body, "a")
    assert "所选版本不适用于该日期" in row and f"#{ganzhou.pk}" in row and f"#{moved_draft.pk}" not in row
    assert "22,500.00" in row  # what the version in force in 2023 gives, named as such
    assert "3 笔费用的日期不在" in body
    # Applied to every date, the chosen draft settles them itself: 30 000 × 80 %.
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(moved_draft.pk), every=True))
    row = row_of(response.content.decode(), "a")
    assert f"#{moved_draft.pk}" in row and "24,000.00" in row and "所选版本不适用" not in row


def test_version_a_and_version_b_side_by_side(client, gz_admin, ganzhou, moved_draft):
    payload, _expected = load_example("ganzhou_class2_annual_cap")
    client.force_login(gz_admin)
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(ganzhou.pk),
                                                                 b=str(moved_draft.pk), every=True))
    body = response.content.decode()
    assert response.status_code == 200
    assert "版本 A 与版本 B 对照" in body
    row = row_of(body, "a")
    assert "22,500.00" in row and "24,000.00" in row and "1,500.00" in row  # A, B, B − A
    assert 'class="differs"' in body[body.rindex("<tr", 0, body.index('data-claim="a"')):body.index('data-claim="a"')]
    row_c = row_of(body, "c")  # an outpatient claim of 600 in scope: no assistance under either
    assert 'class="differs"' not in body[body.rindex("<tr", 0, body.index('data-claim="c"')):body.index('data-claim="c"')]
    assert row_c.count("0.00") >= 2
    shown = re.sub(r"<[^>]+>", " ", body[body.index("<main"):])  # what a person reads
    for code in ('"claims"', "dibao", "outpatient_chronic", "inpatient", "{&quot;", "assistance"):
        assert code not in shown, code


def test_a_real_case_is_loaded_with_its_identity_number_masked(client, gz_admin):
    team = make_team("360700")
    person = person_with_identity(region="360702")
    case = make_case(team, person=person, claims=[ClaimFactory(person=person, date=D(2023, 5, 6), total="52000.00")])
    client.force_login(gz_admin)
    response = client.post(reverse("policies:whatif"), {"region": "360700", "version_a": "in_force", "version_b": "",
                                                        "case_number": case.number, "load_case": "1"})
    body = response.content.decode()
    assert response.status_code == 200
    assert identity_numbers.mask(person.id_number) in body and person.id_number not in body
    assert 'value="2023-05-06"' in body and 'value="52000.00"' in body
    assert 'name="claim-0-total"' in body

    other_person = person_with_identity(region="130903")
    other = make_case(make_team("130900"), person=other_person,
                      claims=[ClaimFactory(person=other_person, date=D(2023, 5, 6))])
    response = client.post(reverse("policies:whatif"), {"region": "360700", "version_a": "in_force", "version_b": "",
                                                        "case_number": other.number, "load_case": "1"})
    body = response.content.decode()
    assert response.status_code == 400 and "您的地区没有案件" in body
    assert other_person.id_number not in body and identity_numbers.mask(other_person.id_number) not in body
