"""The policies API: versions and statistics inside the caller's regions, and the preview's contract."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from policies import services
from policies.models import PolicyVersion, Statistic, VersionStatus
from tests.factories import make_user

from .conftest import load_example, route_index

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_versions_are_listed_inside_the_callers_regions(gz_admin, cz_admin, ganzhou, cangzhou):
    body = api(gz_admin).get("/api/v1/policy-versions/").json()
    ids = {row["id"] for row in body["results"]}
    assert ganzhou.pk in ids and cangzhou.pk not in ids
    # policy pages and their API are for policy admins and auditors: others are refused, as on the pages
    assert api(make_user("caseworker", region="360700")).get("/api/v1/policy-versions/").status_code == 403


def test_another_regions_version_is_not_found(gz_admin, cz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client = api(cz_admin)
    assert client.get(f"/api/v1/policy-versions/{ganzhou.pk}/").status_code == 404
    assert client.post(f"/api/v1/policy-versions/{ganzhou.pk}/start/", {}, format="json").status_code == 404
    response = client.post(f"/api/v1/policy-versions/{draft.pk}/parameters/",
                           {"path": "categories.recipients", "value": ["tekun"]}, format="json")
    assert response.status_code == 404
    assert client.post(f"/api/v1/policy-versions/{draft.pk}/publish/", {"in_force_from": "2024-01-01"},
                       format="json").status_code == 404
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_a_version_in_detail_lists_its_parameters_and_history(gz_admin, ganzhou):
    body = api(gz_admin).get(f"/api/v1/policy-versions/{ganzhou.pk}/").json()
    leaves = {p["path"]: p for p in body["parameters"]}
    dibao = route_index(ganzhou, "dibao")
    ratio = leaves[f"assistance.routes[{dibao}].ratio"]
    assert ratio["value"] == "0.75" and ratio["shown"] == "75%" and ratio["clause"]
    assert leaves["critical.deductible"]["value"] is None and leaves["critical.deductible"]["shown"] == "未设定"
    assert body["changes"][0]["action"] == "seeded"


def test_a_policy_admin_edits_and_publishes_through_the_api(gz_admin, ganzhou):
    client = api(gz_admin)
    response = client.post(f"/api/v1/policy-versions/{ganzhou.pk}/start/", {}, format="json")
    assert response.status_code == 201
    draft_id = response.json()["id"]
    path = f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio"
    bad = client.post(f"/api/v1/policy-versions/{draft_id}/parameters/", {"path": path, "value": "2"}, format="json")
    # the path is the answer's field; the message names the parameter in words (the reader's language)
    assert bad.status_code == 400 and bad.json()["field"] == path
    assert "救助比例" in bad.json()["errors"][0] and "routes" not in bad.json()["errors"][0]
    good = client.post(f"/api/v1/policy-versions/{draft_id}/parameters/", {"path": path, "value": "0.8"}, format="json")
    assert good.status_code == 200
    assert {p["path"]: p["value"] for p in good.json()["parameters"]}[path] == "0.8"
    unconfirmed = client.post(f"/api/v1/policy-versions/{draft_id}/publish/", {"in_force_from": "2024-01-01"}, format="json")
    assert unconfirmed.status_code == 400 and unconfirmed.json()["field"] == "confirm_document"
    published = client.post(f"/api/v1/policy-versions/{draft_id}/publish/",
                            {"in_force_from": "2024-01-01", "confirm_document": ganzhou.document_number}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "published"
    ganzhou.refresh_from_db()
    assert str(ganzhou.in_force_to) == "2023-12-31"


def test_an_auditor_cannot_change_through_the_api(gz_admin, gz_auditor, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client = api(gz_auditor)
    assert client.get(f"/api/v1/policy-versions/{draft.pk}/").status_code == 200
    response = client.post(f"/api/v1/policy-versions/{draft.pk}/parameters/",
                           {"path": "categories.recipients", "value": ["tekun"]}, format="json")
    assert response.status_code == 403
    assert client.post(f"/api/v1/policy-versions/{ganzhou.pk}/start/", {}, format="json").status_code == 403


def test_statistics_through_the_api(gz_admin, cz_admin):
    client = api(gz_admin)
    data = {"region": "360700", "kind": "city_income", "year": 2022, "value": "32000.00", "source": "赣州市统计公报"}
    assert client.post("/api/v1/policy-statistics/", data, format="json").status_code == 201
    assert client.get("/api/v1/policy-statistics/").json()["results"][0]["value"] == "32000.00"
    assert api(cz_admin).get("/api/v1/policy-statistics/").json()["results"] == []
    data.update(value="1.00")
    assert api(cz_admin).post("/api/v1/policy-statistics/", data, format="json").status_code == 403
    assert Statistic.objects.get().value == 32000


def test_preview_with_a_draft_of_the_callers_region(gz_admin, cz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft,
                           path=f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio", value="0.80")
    payload, _ = load_example("ganzhou_class2_annual_cap")
    response = api(gz_admin).post(f"/api/v1/settlements/preview/?version={draft.pk}", payload, format="json")
    assert response.status_code == 200 and response.json()["claims"][0]["assistance"] == "24000.00"
    response = api(cz_admin).post(f"/api/v1/settlements/preview/?version={draft.pk}", payload, format="json")
    assert response.status_code == 404 and "version" in response.json()["errors"][0]
    assert PolicyVersion.objects.filter(pk=draft.pk, status=VersionStatus.DRAFT).exists()


def test_the_schema_documents_the_preview_and_its_errors(client):
    client.force_login(make_user("caseworker"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    preview = schema["paths"]["/api/v1/settlements/preview/"]["post"]
    assert set(preview["responses"]) >= {"200", "400"}
    errors = preview["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert errors.endswith("/Error")
    body = schema["components"]["schemas"]["Error"]
    assert {"detail", "code", "errors"} <= set(body["required"]) and body["properties"]["errors"]["type"] == "array"
    assert "/api/v1/policy-versions/{id}/publish/" in schema["paths"]
