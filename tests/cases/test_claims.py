"""Entering claims by hand: form-ready validation naming the field, and when a claim is locked."""
import datetime

import pytest
from django.core.exceptions import ValidationError

from cases.models import ApplicationClaim, Claim
from cases.services import applications, claims
from cases.services.errors import Conflict, NotPermitted
from tests.cases.factories import ClaimFactory, make_case, person_with_identity

pytestmark = pytest.mark.django_db

BASE = dict(date="2023-03-10", kind="inpatient", total="52000.00", policy_scope="48000.00", basic_paid="30000.00",
            critical_paid="6000.00")


def enter(team, person, **kw):
    return claims.create_claim(acting_user=team.caseworker, person_id=person.pk, **{**BASE, **kw})


def test_a_valid_claim(team):
    person = person_with_identity()
    claim = enter(team, person, maf_pay="1000", basic_paid="", critical_paid=None)
    assert (claim.basic_paid, claim.critical_paid, str(claim.maf_pay)) == (None, None, "1000.00")
    assert claim.region_id == person.region_id and claim.source == "manual"


@pytest.mark.parametrize("changes,field,words", [
    ({"total": "-1"}, "total", "negative"),
    ({"total": "100.123"}, "total", "two decimals"),
    ({"total": "abc"}, "total", "not an amount"),
    ({"policy_scope": "60000"}, "policy_scope", "exceeds total"),
    ({"basic_paid": "40000", "critical_paid": "9000"}, "basic_paid", "exceeds policy_scope"),
    ({"basic_paid": None, "critical_paid": "50000"}, "critical_paid", "exceeds policy_scope"),
    ({"maf_pay": "17000"}, "maf_pay", "exceeds"),
    ({"date": "2999-01-01"}, "date", "future"),
    ({"date": "2023-02-30"}, "date", "not a date"),
    ({"kind": "dental"}, "kind", "not one of"),
    ({"hospital_level": "5"}, "hospital_level", "not one of"),
    ({"location": "moon"}, "location", "not one of"),
])
def test_each_problem_names_the_field(team, changes, field, words):
    from django.utils import translation

    person = person_with_identity()
    with translation.override("en"), pytest.raises(ValidationError) as err:
        enter(team, person, **changes)
    messages = err.value.message_dict
    assert field in messages, messages
    assert words in " ".join(messages[field])
    assert messages[field][0].startswith(field) or messages[field][0].startswith("basic_paid")
    assert not Claim.objects.filter(person=person).exists()


def test_the_setl_id_is_unique(team):
    person = person_with_identity()
    enter(team, person, setl_id="S1")
    with pytest.raises(ValidationError) as err:
        enter(team, person, setl_id="S1")
    assert "setl_id" in err.value.message_dict


def test_only_caseworkers_of_the_region(team, cz_team):
    person = person_with_identity()
    with pytest.raises(NotPermitted):
        claims.create_claim(acting_user=cz_team.caseworker, person_id=person.pk, **BASE)
    with pytest.raises(NotPermitted):
        claims.create_claim(acting_user=team.reviewer, person_id=person.pk, **BASE)


def test_update_and_lock(team):
    app = make_case(team, "draft")
    claim = app.claim_links.get().claim
    updated = claims.update_claim(acting_user=team.caseworker, claim_id=claim.pk, maf_pay="500.00")
    assert str(updated.maf_pay) == "500.00"
    with pytest.raises(ValidationError) as err:
        claims.update_claim(acting_user=team.caseworker, claim_id=claim.pk, policy_scope="60000")
    assert "policy_scope" in err.value.message_dict
    from cases.services import settlement, workflow

    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    with pytest.raises(Conflict) as err:
        claims.update_claim(acting_user=team.caseworker, claim_id=claim.pk, maf_pay="0")
    assert err.value.code == "claim_locked"
    settlement.settle_application(app.pk)
    for user, action in ((team.reviewer, "start_review"), (team.reviewer, "pass"), (team.approver, "approve")):
        workflow.transition(acting_user=user, application_id=app.pk, action=action)
    with pytest.raises(Conflict):
        claims.update_claim(acting_user=team.caseworker, claim_id=claim.pk, maf_pay="0")
    with pytest.raises(Conflict) as err:
        claims.void_claim(acting_user=team.caseworker, claim_id=claim.pk, reason="重复录入")
    assert err.value.code == "claim_locked"
    claim.refresh_from_db()
    assert claim.voided_at is None


def test_void_an_unused_claim_keeps_it_on_record(team):
    claim = ClaimFactory(person=person_with_identity())
    claims.void_claim(acting_user=team.caseworker, claim_id=claim.pk, reason="重复录入")
    claim.refresh_from_db()
    assert claim.voided_at is not None and claim.voided_by == team.caseworker and claim.void_reason == "重复录入"


def test_a_claim_belongs_to_one_open_case(team):
    app = make_case(team, "draft")
    claim = app.claim_links.get().claim
    other = applications.create_application(acting_user=team.caseworker, person_id=claim.person_id, year=2023)
    with pytest.raises(ValidationError) as err:
        applications.add_claims(acting_user=team.caseworker, application_id=other.pk, claim_ids=[claim.pk])
    assert app.number in err.value.message_dict["claim_ids"][0]


def test_the_database_keeps_a_claim_in_one_open_case(team):
    from django.db import IntegrityError, transaction

    app = make_case(team, "draft")
    claim = app.claim_links.get().claim
    other = applications.create_application(acting_user=team.caseworker, person_id=claim.person_id, year=2023)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApplicationClaim.objects.create(application=other, claim=claim)


def test_claims_of_another_person_or_year_are_refused(team):
    app = make_case(team, "draft")
    stranger = ClaimFactory(person=person_with_identity())
    last_year = ClaimFactory(person=app.person, date=datetime.date(2022, 5, 1))
    with pytest.raises(ValidationError) as err:
        applications.add_claims(acting_user=team.caseworker, application_id=app.pk, claim_ids=[stranger.pk, last_year.pk])
    assert len(err.value.message_dict["claim_ids"]) == 2
