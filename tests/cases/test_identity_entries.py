"""An identity entered by bureau staff counts only once a second reviewer confirms it (issue 13
finding 2, identity half): the issue's 补发 of 9 750.00 from a caseworker's own tekun entry no
longer happens without a second person."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Adjustment, Identity, IdentityEntry
from cases.services import persons, settlement
from cases.services.errors import Conflict, NotFound, NotPermitted
from tests.cases.factories import make_case, person_with_identity
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_caseworkers_identity_through_the_api_pays_nothing_until_a_second_reviewer_confirms(
        team, django_capture_on_commit_callbacks):
    app = make_case(team, "approved")
    person_id = app.person_id
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(team.caseworker).post("/api/v1/identities/", {
            "person_id": person_id, "category": "tekun", "start": "2023-01-01", "method": "confirmed"}, format="json")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "pending" and body["identity_id"] is None
    assert not Identity.objects.filter(person_id=person_id, category="tekun").exists()
    settlement.recalculate_person_year(person_id=person_id, year=2023, reason="test")
    assert not Adjustment.objects.filter(application=app).exists()  # nothing to pay: it does not count

    queue = client_for(team.reviewer2).get("/api/v1/identity-entries/").json()
    assert [e["id"] for e in queue["results"]] == [body["id"]]
    assert client_for(team.caseworker).get("/api/v1/identity-entries/").json()["results"] == []
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client_for(team.reviewer2).post(f"/api/v1/identity-entries/{body['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    identity = Identity.objects.get(person_id=person_id, category="tekun")
    assert (identity.method, identity.created_by) == ("evidence", team.caseworker)
    entry = IdentityEntry.objects.get(pk=body["id"])
    assert (entry.status, entry.decided_by, entry.identity) == ("confirmed", team.reviewer2, identity)
    settlement.recalculate_person_year(person_id=person_id, year=2023, reason="test")
    assert Adjustment.objects.get(application=app).amount > Decimal("0")


def test_the_person_who_entered_it_cannot_confirm_it_nor_can_a_caseworker(team):
    person = person_with_identity(category=None)
    entry = persons.add_identity(acting_user=team.reviewer, person_id=person.pk, category="tekun", start="2023-01-01")
    refused = client_for(team.reviewer).post(f"/api/v1/identity-entries/{entry.pk}/confirm/")
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    with pytest.raises(NotPermitted):
        persons.confirm_identity_entry(acting_user=team.caseworker, entry_id=entry.pk)
    with pytest.raises(NotPermitted):
        persons.confirm_identity_entry(acting_user=team.approver, entry_id=entry.pk)
    other_region = make_user("reviewer", region="130900")
    with pytest.raises(NotFound):
        persons.confirm_identity_entry(acting_user=other_region, entry_id=entry.pk)
    assert not person.identities.exists()
    persons.confirm_identity_entry(acting_user=team.reviewer2, entry_id=entry.pk)
    assert person.identities.get().category == "tekun"
    with pytest.raises(Conflict):
        persons.confirm_identity_entry(acting_user=team.reviewer2, entry_id=entry.pk)


def test_a_rejection_needs_a_reason_and_records_nothing(team):
    person = person_with_identity(category=None)
    entry = persons.add_identity(acting_user=team.caseworker, person_id=person.pk, category="dibao", start="2023-01-01")
    api = client_for(team.reviewer)
    assert api.post(f"/api/v1/identity-entries/{entry.pk}/reject/", {"reason": ""}, format="json").status_code == 400
    answer = api.post(f"/api/v1/identity-entries/{entry.pk}/reject/", {"reason": "证明材料不全"}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    assert answer.json()["decision_reason"] == "证明材料不全" and not person.identities.exists()
    assert api.post(f"/api/v1/identity-entries/{entry.pk}/confirm/").status_code == 409
    # the same period may be entered again (a rejected entry does not block it)
    again = persons.add_identity(acting_user=team.caseworker, person_id=person.pk, category="dibao", start="2023-01-01")
    assert again.status == "pending"


def test_a_pending_entry_blocks_an_overlapping_entry_but_not_the_department(team):
    person = person_with_identity(category=None)
    entry = persons.add_identity(acting_user=team.caseworker, person_id=person.pk, category="dibao", start="2023-01-01")
    with pytest.raises(Exception) as err:
        persons.add_identity(acting_user=team.reviewer, person_id=person.pk, category="dibao", start="2023-03-01")
    assert "start" in err.value.message_dict
    persons.add_identity(acting_user=team.civil, person_id=person.pk, category="dibao", start="2022-06-01",
                         method="confirmed", reference="民〔2023〕1号")
    with pytest.raises(Exception) as err:  # the department's own record now covers it
        persons.confirm_identity_entry(acting_user=team.reviewer, entry_id=entry.pk)
    assert "start" in err.value.message_dict
    assert person.identities.count() == 1


def test_a_reviewer_cannot_enter_the_identity_they_asked_a_department_to_confirm(team):
    app = make_case(team, "awaiting_identity", person=person_with_identity(category=None))  # asked: dibao
    asking = app.events.filter(action="ask_department").get().actor
    assert asking == team.reviewer
    refused = client_for(team.reviewer).post("/api/v1/identities/", {
        "person_id": app.person_id, "category": "dibao", "start": "2023-01-01"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "own_department_request"
    # another category, or another reviewer, is fine; the asking reviewer cannot confirm it either
    assert persons.add_identity(acting_user=team.reviewer, person_id=app.person_id, category="tekun",
                                start="2023-01-01").status == "pending"
    entry = persons.add_identity(acting_user=team.reviewer2, person_id=app.person_id, category="dibao",
                                 start="2023-01-01")
    with pytest.raises(NotPermitted) as err:
        persons.confirm_identity_entry(acting_user=team.reviewer, entry_id=entry.pk)
    assert err.value.code == "own_department_request"


def test_the_second_reviewers_inbox_and_the_person_page(client, team):
    person = person_with_identity(category=None, name="钟秀英")
    entry = persons.add_identity(acting_user=team.caseworker, person_id=person.pk, category="dibao",
                                 start=datetime.date(2023, 1, 1), reference="于民〔2023〕6号")
    client.force_login(team.reviewer)
    home = client.get(reverse("home")).content.decode()
    assert "待复核的身份" in home
    body = client.get(reverse("cases:identity_entries")).content.decode()
    assert "钟秀英" in body and "于民〔2023〕6号" in body and f'data-entry="{entry.pk}"' in body
    page = client.get(reverse("cases:person", args=[person.pk])).content.decode()
    assert "待第二名审核人确认" in page and 'value="confirm"' in page
    response = client.post(reverse("cases:identity_entry_decide", args=[entry.pk]),
                           {"decision": "reject", "reason": ""}, follow=True)
    assert "请说明不予确认的理由" in response.content.decode()
    response = client.post(reverse("cases:identity_entry_decide", args=[entry.pk]),
                           {"decision": "reject", "reason": "材料不符", "next": "queue"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:identity_entries")
    client.force_login(team.caseworker)
    page = client.get(reverse("cases:person", args=[person.pk])).content.decode()
    assert "材料不符" in page and 'value="confirm"' not in page
