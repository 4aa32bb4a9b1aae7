"""Claims entered twice: flagged before saving, voided with a reason (never deleted) so that they stop
counting; every other claim of the person-year keeps counting, and the case page says which and why."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Claim
from cases.services import claims, settlement
from cases.services.errors import Conflict
from tests.cases.factories import ClaimFactory, make_case, person_with_identity

pytestmark = pytest.mark.django_db

CLAIM = dict(date="2023-05-01", kind="inpatient", hospital_name="于都县人民医院", total="26000.00",
             policy_scope="23000.00", basic_paid="15000.00", critical_paid="1500.00")
FORM = {**CLAIM, "hospital_level": "2", "location": "county", "referral_compliant": "on", "maf_pay": "0"}


def test_an_identical_claim_is_flagged_before_it_is_saved(team):
    person = person_with_identity()
    first = claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **CLAIM)
    with pytest.raises(claims.DuplicateClaim) as err:
        claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **{**CLAIM, "hospital_name": "于都县 人民医院"})
    assert err.value.duplicates == [first] and err.value.code == "claim_duplicate"
    assert Claim.objects.filter(person=person).count() == 1
    # another amount, another day or another person is no duplicate
    claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **{**CLAIM, "total": "26000.01"})
    claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **{**CLAIM, "date": "2023-05-02"})
    claims.create_claim(acting_user=team.caseworker, person_id=person_with_identity().pk, **CLAIM)
    # confirmed: a second, identical settlement is recorded
    claims.create_claim(acting_user=team.caseworker, person_id=person.pk, confirm_duplicate=True, **CLAIM)
    assert Claim.objects.filter(person=person, date="2023-05-01", total=Decimal("26000.00")).count() == 2


def test_the_form_warns_and_the_clerk_confirms_or_cancels(client, team):
    person = person_with_identity()
    claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **CLAIM)
    client.force_login(team.caseworker)
    url = reverse("cases:claim_new", args=[person.pk])
    response = client.post(url, FORM)
    body = response.content.decode()
    assert response.status_code == 409 and "此人已有相同的结算" in body and 'name="confirm_duplicate"' in body
    assert 'value="26000.00"' in body  # what was typed is kept
    assert Claim.objects.filter(person=person).count() == 1
    response = client.post(url, {**FORM, "confirm_duplicate": "1"})
    assert response.status_code == 302 and Claim.objects.filter(person=person).count() == 2


def test_the_api_refuses_a_duplicate_unless_confirmed(team):
    person = person_with_identity()
    claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **CLAIM)
    api = APIClient()
    api.force_authenticate(team.caseworker)
    response = api.post("/api/v1/claims/", {"person_id": person.pk, **CLAIM}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "claim_duplicate"
    response = api.post("/api/v1/claims/", {"person_id": person.pk, **CLAIM, "confirm_duplicate": True}, format="json")
    assert response.status_code == 201


def test_a_claim_entered_twice_is_voided_and_stops_counting(team):
    """赣州 监测对象: the same 12 000 in-scope self-pay entered twice doubles the assistance; voiding
    the second brings the case back to 5 720.00 (10 % × 32 000 deductible, 65 %)."""
    person = person_with_identity(category="jiance", start=datetime.date(2022, 1, 1))
    first = ClaimFactory(person=person, date=datetime.date(2023, 3, 10))
    twice = ClaimFactory(person=person, date=datetime.date(2023, 3, 10), setl_id=None)
    app = make_case(team, "draft", person=person, claims=[first, twice])
    twice_settled = settlement.settle_application(app.pk)
    assert twice_settled.payable > Decimal("5720.00")
    claims.void_claim(acting_user=team.caseworker, claim_id=twice.pk, reason="重复录入")
    twice.refresh_from_db()
    assert (twice.void_reason, twice.voided_by) == ("重复录入", team.caseworker)
    assert not app.claim_links.filter(claim=twice).exists()  # the draft case lets it go
    assert settlement.settle_application(app.pk).payable == Decimal("5720.00")
    # a voided claim stays voided: it cannot be corrected, voided again or put into a case
    with pytest.raises(Conflict):
        claims.update_claim(acting_user=team.caseworker, claim_id=twice.pk, maf_pay="0")
    with pytest.raises(Conflict):
        claims.void_claim(acting_user=team.caseworker, claim_id=twice.pk, reason="again")
    from cases.services import applications

    with pytest.raises(ValidationError):
        applications.add_claims(acting_user=team.caseworker, application_id=app.pk, claim_ids=[twice.pk])


def test_voiding_needs_a_reason_and_the_region(team, cz_team):
    claim = ClaimFactory(person=person_with_identity())
    with pytest.raises(ValidationError) as err:
        claims.void_claim(acting_user=team.caseworker, claim_id=claim.pk, reason="  ")
    assert "reason" in err.value.message_dict
    from cases.services.errors import NotPermitted

    with pytest.raises(NotPermitted):
        claims.void_claim(acting_user=cz_team.caseworker, claim_id=claim.pk, reason="x")
    claim.refresh_from_db()
    assert claim.voided_at is None


def test_void_through_the_api(team):
    claim = ClaimFactory(person=person_with_identity())
    api = APIClient()
    api.force_authenticate(team.caseworker)
    assert api.delete(f"/api/v1/claims/{claim.pk}/").status_code == 405
    assert api.post(f"/api/v1/claims/{claim.pk}/void/", {}, format="json").status_code == 400
    response = api.post(f"/api/v1/claims/{claim.pk}/void/", {"reason": "录入错误"}, format="json")
    assert response.status_code == 200 and response.json()["void_reason"] == "录入错误"
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_the_case_page_lists_the_claims_of_the_year_and_why_they_count(client, team):
    person = person_with_identity()
    own = ClaimFactory(person=person, date=datetime.date(2023, 3, 10), setl_id="OWN-1")
    other_case_claim = ClaimFactory(person=person, date=datetime.date(2023, 1, 5), setl_id="PAID-1")
    loose = ClaimFactory(person=person, date=datetime.date(2023, 8, 1), setl_id="LOOSE-1")
    voided = ClaimFactory(person=person, date=datetime.date(2023, 9, 1), setl_id="VOID-1")
    last_year = ClaimFactory(person=person, date=datetime.date(2022, 9, 1), setl_id="OLD-1")
    paid = make_case(team, "paid", person=person, claims=[other_case_claim])
    claims.void_claim(acting_user=team.caseworker, claim_id=voided.pk, reason="重复录入")
    app = make_case(team, "draft", person=person, claims=[own])
    client.force_login(team.reviewer)
    body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    section = body[body.index('id="year-claims"'):]
    section = section[:section.index("</section>")]
    for setl_id in ("OWN-1", "PAID-1", "LOOSE-1", "VOID-1"):
        assert setl_id in section
    assert "OLD-1" not in section
    assert paid.number in section and "本案的结算" in section and "尚未纳入任何案件" in section
    assert "已作废（重复录入）" in section
    # the settlement id shows among the case's own claims too
    claims_block = body[body.index('id="claims"'):]
    assert "OWN-1" in claims_block[:claims_block.index("</section>")]
    assert loose.pk and last_year.pk
