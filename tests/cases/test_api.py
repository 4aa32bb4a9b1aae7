"""The cases API: what the UI does, scoped like the UI, with its error answers."""
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from cases.models import Application, IdNumberView
from portal.permissions import allowed
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.cases.test_import import HEADER, csv_bytes, row

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_persons_are_masked_and_searchable(team):
    person = person_with_identity(name="钟秀英")
    api = client_for(team.caseworker)
    # a full number is not taken from the URL (access logs keep URLs) but posted to persons/search/
    refused = api.get("/api/v1/persons/", {"q": person.id_number})
    assert refused.status_code == 400 and refused.json()["field"] == "q" and "搜索框" in refused.json()["detail"]
    found = api.post("/api/v1/persons/search/", {"q": person.id_number}, format="json")
    assert found.status_code == 200 and [p["id"] for p in found.json()] == [person.pk]
    assert person.id_number not in str(found.json()) and found.json()[0]["id_number_masked"] == person.masked_id_number
    body = api.get("/api/v1/persons/", {"q": "钟秀"}).json()
    assert [p["id"] for p in body["results"]] == [person.pk]
    assert "count" not in body and "next" in body
    tail = api.get("/api/v1/persons/", {"q": person.id_number[-6:]}).json()
    assert [p["id"] for p in tail["results"]] == [person.pk]
    masked = api.get("/api/v1/persons/", {"q": person.masked_id_number}).json()
    assert [p["id"] for p in masked["results"]] == [person.pk]


def test_reveal_endpoint_is_permissioned_and_logged(team):
    person = person_with_identity()
    refused = client_for(team.caseworker).post(f"/api/v1/persons/{person.pk}/reveal-id-number/", {"reason": "核对"})
    assert refused.status_code == 403 and refused.json()["code"] == "no_full_id_permission"
    ok = client_for(team.reviewer).post(f"/api/v1/persons/{person.pk}/reveal-id-number/", {"reason": "核对"}, format="json")
    assert ok.status_code == 200 and ok.json() == {"id_number": person.id_number}
    assert IdNumberView.objects.get().reason == "核对"


def test_register_a_person_with_field_errors(team):
    api = client_for(team.caseworker)
    bad = api.post("/api/v1/persons/", {"id_number": "360702196103121311", "name": "张三", "region_code": "360702"}, format="json")
    assert bad.status_code == 400 and "id_number" in bad.json()["fields"] and bad.json()["code"] == "invalid"


def test_a_case_through_the_api(team, django_capture_on_commit_callbacks):
    person = person_with_identity()
    claim = ClaimFactory(person=person)
    cw, rv, ap = client_for(team.caseworker), client_for(team.reviewer), client_for(team.approver)
    with django_capture_on_commit_callbacks(execute=True):
        created = cw.post("/api/v1/applications/", {"person_id": person.pk, "year": 2023, "claim_ids": [claim.pk]}, format="json")
    assert created.status_code == 201, created.json()
    app_id = created.json()["application"]["id"]
    assert created.json()["allowed_actions"] == ["submit", "withdraw"]
    with django_capture_on_commit_callbacks(execute=True):
        submitted = cw.post(f"/api/v1/applications/{app_id}/transition/", {"action": "submit"}, format="json")
    assert submitted.status_code == 200 and submitted.json()["application"]["state"] == "submitted"
    queue = rv.get("/api/v1/applications/", {"queue": "to_review"}).json()
    assert [a["id"] for a in queue["results"]] == [app_id]
    for action in ("start_review", "pass"):
        assert rv.post(f"/api/v1/applications/{app_id}/transition/", {"action": action}, format="json").status_code == 200
    detail = ap.get(f"/api/v1/applications/{app_id}/").json()
    assert detail["settlement_ready"] and detail["allowed_actions"] == ["approve", "reject"]
    assert detail["settlement"]["payable"] == "9000.00" and len(detail["settlement"]["lines"]) == 1
    assert [e["action"] for e in detail["events"]] == ["submit", "start_review", "pass"]
    approved = ap.post(f"/api/v1/applications/{app_id}/transition/", {"action": "approve", "expected_state": "reviewed"}, format="json")
    assert approved.status_code == 200 and approved.json()["application"]["amount_approved"] == "9000.00"
    slip = ap.get(f"/api/v1/applications/{app_id}/slip/").json()
    assert slip["totals"]["payable"] == "9000.00" and slip["claims"][0]["assistance"] == "9000.00"


def test_transition_errors_map_to_status_codes(team):
    app = make_case(team, "in_review")
    rv = client_for(team.reviewer)
    missing = rv.post(f"/api/v1/applications/{app.pk}/transition/", {"action": "return"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
    wrong_role = client_for(team.caseworker).post(f"/api/v1/applications/{app.pk}/transition/", {"action": "pass"}, format="json")
    assert wrong_role.status_code == 403 and wrong_role.json()["code"] == "role_required"
    conflict = rv.post(f"/api/v1/applications/{app.pk}/transition/", {"action": "start_review"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "state_conflict"
    unknown = rv.post(f"/api/v1/applications/{app.pk}/transition/", {"action": "batch"}, format="json")
    assert unknown.status_code == 400


def test_another_region_gets_404_everywhere(team, cz_team):
    app = make_case(team, "approved")
    batch_api = client_for(team.payment)
    batch = batch_api.post("/api/v1/payment-batches/", {"region_code": "360700"}, format="json").json()
    outsiders = [cz_team.caseworker, cz_team.reviewer, cz_team.approver, cz_team.payment, cz_team.auditor]
    for user in outsiders:
        api = client_for(user)
        assert api.get(f"/api/v1/applications/{app.pk}/").status_code == 404
        assert api.get(f"/api/v1/applications/{app.pk}/slip/").status_code == 404
        assert api.post(f"/api/v1/applications/{app.pk}/transition/", {"action": "reject", "comment": "x"},
                        format="json").status_code == 404
        assert api.get(f"/api/v1/persons/{app.person_id}/").status_code == 404
        assert api.post(f"/api/v1/persons/{app.person_id}/reveal-id-number/", {"reason": "x"}).status_code == 404
        # payment batches are for payment officers, approvers and auditors: other roles are refused (403)
        batches = 404 if allowed(user, "cases.view_batches") else 403
        assert api.get(f"/api/v1/payment-batches/{batch['id']}/").status_code == batches
        assert api.get(f"/api/v1/payment-batches/{batch['id']}/export/").status_code == batches
        assert api.get("/api/v1/applications/").json()["results"] == []
        assert api.get("/api/v1/claims/").json()["results"] == []
        assert api.get("/api/v1/adjustments/").json()["results"] == []
        created = api.post("/api/v1/applications/", {"person_id": app.person_id, "year": 2023}, format="json")
        assert created.status_code == 404


def test_liaisons_see_only_the_cases_waiting_for_them(team):
    waiting = make_case(team, "awaiting_identity")
    other = make_case(team, "in_review")
    civil = client_for(team.civil).get("/api/v1/applications/").json()
    assert [a["id"] for a in civil["results"]] == [waiting.pk]
    assert client_for(team.rural).get("/api/v1/applications/").json()["results"] == []
    assert client_for(team.civil).get(f"/api/v1/applications/{other.pk}/").status_code == 404
    answered = client_for(team.civil).post(f"/api/v1/applications/{waiting.pk}/transition/",
                                           {"action": "identity_answered", "comment": "已确认低保"}, format="json")
    assert answered.status_code == 200 and answered.json()["application"]["state"] == "in_review"
    assert client_for(team.civil).get(f"/api/v1/applications/{waiting.pk}/").status_code == 404  # no longer theirs


def test_filters_and_keyset_pagination(team):
    apps = [make_case(team, "draft") for _ in range(5)]
    api = client_for(team.caseworker)
    page = api.get("/api/v1/applications/", {"page_size": 2}).json()
    assert [a["id"] for a in page["results"]] == [apps[4].pk, apps[3].pk] and "count" not in page
    nxt = APIClient()
    nxt.force_authenticate(team.caseworker)
    second = nxt.get(page["next"]).json()
    assert [a["id"] for a in second["results"]] == [apps[2].pk, apps[1].pk]
    assert api.get("/api/v1/applications/", {"queue": "my_drafts"}).json()["results"][0]["id"] == apps[4].pk
    assert api.get("/api/v1/applications/", {"state": "approved"}).json()["results"] == []
    assert len(api.get("/api/v1/applications/", {"year": 2023, "region": "360702"}).json()["results"]) == 5
    assert api.get("/api/v1/applications/", {"q": apps[0].number}).json()["results"][0]["id"] == apps[0].pk
    assert api.get("/api/v1/applications/", {"queue": "nope"}).status_code == 400


def test_list_queries_do_not_grow_with_the_page(team, django_assert_max_num_queries):
    for _ in range(12):
        make_case(team, "draft")
    api = client_for(team.caseworker)
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/applications/", {"page_size": 12}).json()["results"]) == 12


def test_claim_import_endpoint_and_format(team):
    from tests.exchange.oncommit import run_on_commit

    person = person_with_identity()
    api = client_for(team.caseworker)
    content = csv_bytes([row(person, "API1"), row(person, "API2", med_type="77")], "gbk")
    upload = io.BytesIO(content)
    upload.name = "setlinfo.csv"
    with run_on_commit():  # received in the request, imported by the task on commit
        response = api.post("/api/v1/claims/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] is True
    pk = response.json()["id"]
    body = api.get(f"/api/v1/claim-imports/{pk}/").json()
    assert (body["status"], body["progress"], body["rows_created"], body["rows_failed"]) == ("done", 100, 1, 1)
    errors = api.get(f"/api/v1/claim-imports/{pk}/errors/").json()
    assert errors["count"] == 1 and errors["results"][0]["row"] == 3 and errors["results"][0]["column"] == "med_type"
    # the same file again (a double click): the first import, not a second one
    upload = io.BytesIO(content)
    upload.name = "setlinfo.csv"
    again = api.post("/api/v1/claims/import/", {"file": upload}, format="multipart")
    assert again.status_code == 200 and again.json()["id"] == pk and again.json()["created"] is False
    cols = api.get("/api/v1/claims/import-format/").json()
    assert {c["column"] for c in cols} >= set(HEADER) - {"mdtrt_id", "psn_pay"}
    assert api.post("/api/v1/claims/import/", {}, format="multipart").status_code == 400


def test_claims_entered_through_the_api_name_the_field(team):
    person = person_with_identity()
    api = client_for(team.caseworker)
    bad = api.post("/api/v1/claims/", {"person_id": person.pk, "date": "2023-03-01", "kind": "inpatient",
                                       "total": "100.00", "policy_scope": "200.00"}, format="json")
    assert bad.status_code == 400 and "policy_scope" in bad.json()["fields"]
    ok = api.post("/api/v1/claims/", {"person_id": person.pk, "date": "2023-03-01", "kind": "inpatient",
                                      "total": "100.00", "policy_scope": "80.00"}, format="json")
    assert ok.status_code == 201 and ok.json()["basic_paid"] is None


def test_payments_through_the_api(team):
    app = make_case(team, "approved")
    api = client_for(team.payment)
    created = api.post("/api/v1/payment-batches/", {"region_code": "360700", "request_key": "abc"}, format="json")
    assert created.status_code == 201
    batch = created.json()
    again = api.post("/api/v1/payment-batches/", {"region_code": "360700", "request_key": "abc"}, format="json")
    assert again.status_code == 201 and again.json()["id"] == batch["id"]
    csv_file = api.get(f"/api/v1/payment-batches/{batch['id']}/export/")
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_file["Content-Disposition"]
    xlsx = api.get(f"/api/v1/payment-batches/{batch['id']}/export/", {"file_format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert api.get(f"/api/v1/payment-batches/{batch['id']}/export/", {"file_format": "pdf"}).status_code == 400
    line = batch["lines"][0]
    done = api.post(f"/api/v1/payment-batches/{batch['id']}/results/",
                    {"results": [{"line_id": line["id"], "outcome": "paid", "bank_reference": "B1"}]}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert Application.objects.get(pk=app.pk).state == "paid"
    conflict = api.post(f"/api/v1/payment-batches/{batch['id']}/results/",
                        {"results": [{"line_id": line["id"], "outcome": "failed", "reason": "x"}]}, format="json")
    assert conflict.status_code == 409
    nothing = api.post("/api/v1/payment-batches/", {"region_code": "360700"}, format="json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_pay"


def test_openapi_schema_builds_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/applications/{id}/transition/" in out.getvalue()


def test_every_error_answer_has_detail_and_code(team, cz_team):
    api = client_for(team.caseworker)
    bad = api.post("/api/v1/claims/", {"person_id": "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "person_id" in bad.json()["fields"]
    missing = api.get("/api/v1/applications/999999/")
    assert missing.status_code == 404 and set(missing.json()) == {"detail", "code", "errors"}
    assert missing.json()["errors"] == [missing.json()["detail"]]
    anonymous = APIClient().get("/api/v1/applications/")
    assert anonymous.status_code in (401, 403) and "code" in anonymous.json()
