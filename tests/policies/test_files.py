"""Policy files: export, import (a draft, never published), the whole file validated first with
messages naming the path, hostile input refused with a clear message — through the service, the
commands and the API."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation
from rest_framework.test import APIClient

from policies import services
from policies.models import PolicyChange, PolicyVersion, VersionStatus
from tests.factories import make_user

from .conftest import comparable, example_names, load_example

pytestmark = pytest.mark.django_db

SEED_REGIONS = ("360700", "130900", "440000", "500113", "341721")
CATEGORIES = ("tekun", "orphan", "dibao", "dibao_edge", "illness_poverty", "fanpin", "jiance", "tuopin",
              "other_special", None)
KINDS = ("inpatient", "outpatient_general", "outpatient_chronic")


def admin_of(region: str):
    return make_user("policy_admin", region=region, username=f"pa_{region}")


def seeded(region: str) -> PolicyVersion:
    return PolicyVersion.objects.filter(region_id=region, status=VersionStatus.PUBLISHED).order_by("-in_force_from").first()


def grid_payloads(region: str) -> list[dict]:
    """One person per category (and one with none), each with a claim of every kind in 2023,
    referred and not, at levels 1 and 3 — compared between a published version and its copy."""
    payloads = []
    for category in CATEGORIES:
        claims = []
        for n, kind in enumerate(KINDS):
            for level, referred in ((1, True), (3, False)):
                claims.append({
                    "id": f"{kind}-{level}", "date": f"2023-{6 + n:02d}-{10 + level}", "kind": kind,
                    "special_disease": kind != "outpatient_general", "hospital_level": level,
                    "location": "city", "referral_compliant": referred, "total": "80000.00",
                    "policy_scope": "60000.00", "basic_paid": "30000.00", "critical_paid": "8000.00"})
        payloads.append({
            "region": region,
            "person": {"residence": "rural", "scheme": "resident",
                       "identities": [{"category": category, "start": "2022-01-01", "end": None}] if category else []},
            "statistics": {"city_income": {"2021": "30000.00", "2022": "32000.00"},
                           "province_rural_income": {"2021": "18000.00", "2022": "19000.00"}},
            "tilted_applied": True,
            "claims": claims,
        })
    return payloads


def outcome(payload: dict, *, draft: int | None = None):
    try:
        return comparable(services.settle_payload(payload=payload, draft_version_id=draft))
    except services.SettlementRefused as exc:
        return {"refused": sorted(exc.errors)}


@pytest.mark.parametrize("region", SEED_REGIONS)
def test_export_then_import_gives_the_same_document_and_settlements(region):
    published = seeded(region)
    text = services.policy_file_text(published)
    assert '"clause"' in text and published.document_number in text  # readable: the document as it is
    draft = services.import_policy(acting_user=admin_of(region), region=region, content=text.encode(),
                                   filename="roundtrip.json")
    assert draft.status == VersionStatus.DRAFT and draft.pk != published.pk
    assert draft.engine_document() == published.engine_document()
    again = json.loads(services.policy_file_text(draft))
    again.pop("policy_file")
    assert again.pop("examples") == json.loads(text)["examples"]
    assert again == published.engine_document()
    payloads = grid_payloads(region)
    payloads += [load_example(n)[0] for n in example_names() if load_example(n)[0].get("region") == region]
    settled = 0
    for payload in payloads:
        before = outcome(payload)
        assert outcome(payload, draft=draft.pk) == before
        settled += "claims" in before
    if region in ("360700", "130900", "500113"):
        assert settled >= 5  # the comparison compared real settlements, not only refusals


def _gz_file() -> dict:
    doc = json.loads(services.policy_file_text(seeded("360700")))
    return doc


def _refused(content, *, region="360700", filename="p.json") -> list[str]:
    before = (PolicyVersion.objects.count(), PolicyChange.objects.count())
    with pytest.raises(services.ChangeRefused) as info:
        services.import_policy(acting_user=admin_of(region), region=region, content=content, filename=filename)
    assert (PolicyVersion.objects.count(), PolicyChange.objects.count()) == before  # nothing changed
    return info.value.errors


def test_an_invalid_file_is_refused_whole_with_every_problem_named_by_path():
    doc = _gz_file()
    routes = doc["parameters"]["assistance"]["routes"]
    routes[1]["ratio"]["value"] = "1.2"
    routes[2]["cap"]["value"] = "-5"
    del routes[0]["kinds"]
    with translation.override("en"):
        errors = _refused(json.dumps(doc))
    assert any(e.startswith("assistance.routes[1].ratio:") and "1.2" not in e or "between 0 and 1" in e
               for e in errors if e.startswith("assistance.routes[1].ratio"))
    assert any(e.startswith("assistance.routes[2].cap:") for e in errors)
    assert any(e.startswith("assistance.routes[0].kinds:") for e in errors)
    assert len(errors) >= 3


def test_messages_are_in_the_readers_language():
    doc = _gz_file()
    doc["parameters"]["assistance"]["routes"][1]["ratio"]["value"] = "1.2"
    with translation.override("zh-hans"):
        errors = _refused(json.dumps(doc))
    assert any("assistance.routes[1].ratio" in e and "救助比例" in e and "0" in e for e in errors), errors
    with translation.override("zh-hans"):
        assert any("不是" in e or "UTF-8" in e for e in _refused(b"\xff\xfe\x00garbage"))


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe{\x00}", "UTF-8"),
    (b"", "empty"),
    (b"[" * 100_000 + b"]" * 100_000, "deep"),
    (b'{"a": ' * 60 + b"1" + b"}" * 60, "deep"),
    (b'{"region": "360700", "x": 1e400}', "too large"),
    (b'{"region": "360700", "x": NaN}', "number"),
    (b'{"region": "360700", "x": ' + b"9" * 5000 + b"}", "number"),
    (b'{"region": "360700", "parameters": [', "not valid JSON"),
    (b'"just a string"', "one JSON object"),
    (b"{" + b" " * (3 * 1024 * 1024) + b"}", "larger than"),
    (b'{"policy_file": {"format": 99}, "region": "360700"}', "format"),
])
def test_hostile_files_are_refused_with_a_clear_message(content, words):
    with translation.override("en"):
        errors = _refused(content)
    assert any(words.lower() in e.lower() for e in errors), errors


def test_a_file_of_another_region_or_outside_the_admins_regions_is_refused():
    text = services.policy_file_text(seeded("360700"))
    with translation.override("en"):
        errors = _refused(text, region="130900")
    assert "360700" in errors[0]
    with pytest.raises(services.PermissionDenied):
        services.import_policy(acting_user=admin_of("130900"), content=text, filename="gz.json")
    assert not PolicyVersion.objects.filter(status=VersionStatus.DRAFT).exists()


def test_an_import_breaking_the_framework_names_the_frameworks_clause(db):
    doc = _gz_file()
    doc["region"] = "440100"
    routes = doc["parameters"]["assistance"]["routes"]
    for route in routes:
        if "dibao" in (route["categories"]["value"] or []):
            route["deductible"]["value"] = "500.00"
    with translation.override("en"):
        errors = _refused(json.dumps(doc), region="440100")
    assert any("粤府办〔2022〕40号" in e and "二(四)" in e for e in errors), errors


def test_commands_export_and_import(tmp_path, capsys):
    admin_of("360700")
    out = tmp_path / "gz.json"
    call_command("export_policy", "360700", "--output", str(out))
    text = out.read_text(encoding="utf-8")
    assert json.loads(text)["document"] == seeded("360700").document_number
    stdout = io.StringIO()
    call_command("import_policy", str(out), "--user", "pa_360700", stdout=stdout)
    draft = PolicyVersion.objects.get(region_id="360700", status=VersionStatus.DRAFT)
    assert f"#{draft.pk}" in stdout.getvalue() and "not published" in stdout.getvalue()
    bad = tmp_path / "bad.json"
    doc = json.loads(text)
    doc["parameters"]["assistance"]["routes"][0]["ratio"]["value"] = "7"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_policy", str(bad), "--user", "pa_360700", stderr=err)
    assert exit_info.value.code == 2 and "assistance.routes[0].ratio" in err.getvalue()
    assert PolicyVersion.objects.filter(status=VersionStatus.DRAFT).count() == 1
    with pytest.raises(SystemExit):
        call_command("export_policy", "999999", stderr=io.StringIO())
    specific = io.StringIO()
    call_command("export_policy", "360700", "--version", str(draft.pk), stdout=specific)
    assert json.loads(specific.getvalue())["policy_file"]["status"] == "draft"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_download_and_upload():
    admin = admin_of("360700")
    client = api(admin)
    published = seeded("360700")
    response = client.get(f"/api/v1/policy-versions/{published.pk}/file/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    upload = client.post("/api/v1/policy-files/", {"file": io.BytesIO(content)}, format="multipart")
    assert upload.status_code == 201, upload.content
    draft = PolicyVersion.objects.get(pk=upload.json()["id"])
    assert draft.status == VersionStatus.DRAFT and draft.engine_document() == published.engine_document()
    raw = client.post("/api/v1/policy-files/", data=content, content_type="application/json")
    assert raw.status_code == 201
    doc = json.loads(content)
    doc["parameters"]["assistance"]["routes"][1]["ratio"]["value"] = "1.2"
    bad = client.post("/api/v1/policy-files/", {"file": io.BytesIO(json.dumps(doc).encode())}, format="multipart")
    assert bad.status_code == 400 and any("assistance.routes[1].ratio" in e and "救助比例" in e for e in bad.json()["errors"])
    client.cookies["django_language"] = "en"
    bad = client.post("/api/v1/policy-files/", {"file": io.BytesIO(json.dumps(doc).encode())}, format="multipart")
    assert bad.status_code == 400 and any(e.startswith("assistance.routes[1].ratio: ") for e in bad.json()["errors"])
    del client.cookies["django_language"]
    for hostile in (b"\xff\xfe", b"[" * 50_000, b'{"x": 1e400}'):
        answer = client.post("/api/v1/policy-files/", {"file": io.BytesIO(hostile)}, format="multipart")
        assert answer.status_code == 400 and answer.json()["errors"]
    assert client.post("/api/v1/policy-files/", {}, format="multipart").status_code == 400
    other = api(make_user("policy_admin", region="130900", username="cz_x"))
    assert other.get(f"/api/v1/policy-versions/{draft.pk}/file/").status_code == 404
    assert other.post("/api/v1/policy-files/", {"file": io.BytesIO(content)}, format="multipart").status_code == 403
    auditor = api(make_user("auditor", region="360700", username="gz_aud_x"))
    assert auditor.get(f"/api/v1/policy-versions/{published.pk}/file/").status_code == 200
    assert auditor.post("/api/v1/policy-files/", {"file": io.BytesIO(content)}, format="multipart").status_code == 403
