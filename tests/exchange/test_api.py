"""What a department's system does through the API: answer confirmation requests, pull warnings and
subsidy lists (each pull recorded with the token), record outcomes; refusals name the field."""
import datetime

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.exchange.oncommit import run_on_commit

pytestmark = pytest.mark.django_db
D = datetime.date


def client_for(user):
    api = APIClient()
    token = Token.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api, token.key


def test_ask_and_answer_a_confirmation_through_the_api():
    add_statistics()
    team = make_team("360700")
    person = person_with_identity(region="360702", category=None)
    app = make_case(team, "in_review", person=person, claims=[ClaimFactory(person=person)])
    reviewer, _k = client_for(team.reviewer)
    bad = reviewer.post("/api/v1/exchange/confirmations/", {"application": app.pk, "category": "dibao",
                                                            "claimed_start": "2099-01-01"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "claimed_start"
    with run_on_commit():
        asked = reviewer.post("/api/v1/exchange/confirmations/", {"application": app.pk, "category": "dibao",
                                                                  "claimed_start": "2023-01-01"}, format="json")
    assert asked.status_code == 201
    civil, _k = client_for(team.civil)
    inbox = civil.get("/api/v1/exchange/confirmations/?status=open").json()["results"]
    assert [r["id"] for r in inbox] == [asked.json()["id"]] and inbox[0]["person_id_number"].count("*") == 10
    with run_on_commit():
        done = civil.post(f"/api/v1/exchange/confirmations/{inbox[0]['id']}/confirm/",
                          {"reference": "章民〔2023〕1号", "start": "2023-01-01"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    again = civil.post(f"/api/v1/exchange/confirmations/{inbox[0]['id']}/reject/", {"reason": "x"}, format="json")
    assert again.status_code == 409
    rural, _k = client_for(team.rural)
    assert rural.get(f"/api/v1/exchange/confirmations/{inbox[0]['id']}/").status_code == 404
