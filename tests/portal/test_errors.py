"""One error body across the API (portal.api.errors), whichever part refuses."""
import pytest
from rest_framework.test import APIClient

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _shape(body):
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["errors"], list) and all(isinstance(e, str) for e in body["errors"])
    return body


def test_bad_input_in_each_part_has_the_same_body():
    user = make_user("caseworker", "policy_admin")
    api = _api(user)
    cases = _shape(api.post("/api/v1/claims/", {"person_id": "x"}, format="json").json())
    assert cases["code"] == "invalid" and "person_id" in cases["fields"]
    assert any(e.startswith("person_id: ") for e in cases["errors"])
    preview = api.post("/api/v1/settlements/preview/", {"region": "130900", "claims": [
        {"id": "c1", "date": "2022-03-10", "kind": "inpatient", "total": "100.00", "policy_scope": "200.00"}]},
        format="json")
    assert preview.status_code == 400
    body = _shape(preview.json())
    # the field by its path for programs, and the message in the reader's words (Chinese by default)
    assert body["code"] == "invalid" and body["field"] == "claims[0].policy_scope"
    assert body["errors"] and any("政策范围" in e for e in body["errors"]), body["errors"]


def test_a_service_refusal_and_a_framework_refusal_look_alike():
    api = _api(make_user("caseworker"))
    missing = api.get("/api/v1/applications/999999/")
    assert missing.status_code == 404 and _shape(missing.json())["code"] == "not_found"
    anonymous = APIClient().get("/api/v1/applications/")
    assert anonymous.status_code in (401, 403) and _shape(anonymous.json())["code"] in (
        "not_authenticated", "authentication_failed")
    wrong_method = api.delete("/api/v1/regions/")
    assert wrong_method.status_code == 405 and _shape(wrong_method.json())["code"] == "method_not_allowed"
