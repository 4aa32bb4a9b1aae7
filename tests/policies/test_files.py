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
    # the parameter in the editor's words, not its path
    assert any("医疗救助 第2条救助路径 的 救助比例：应在 0 至 1 之间" in e for e in errors), errors
    assert not any("assistance.routes" in e for e in errors), errors
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
    # the command names the parameter by its path first, then the reason
    assert exit_info.value.code == 2 and "assistance.routes[0].ratio: " in err.getvalue(), err.getvalue()
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


def test_api_download_and_upload(django_capture_on_commit_callbacks):
    """The upload is stored and imported by the worker (eager here): the answer is the import, its
    draft once done, or its problems, paged, once refused."""
    admin = admin_of("360700")
    client = api(admin)
    published = seeded("360700")
    response = client.get(f"/api/v1/policy-versions/{published.pk}/file/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content) if response.streaming else response.content

    def post(*args, user_client=client, **kwargs):
        """The import as the API shows it once the worker (run on commit) is done with it."""
        with django_capture_on_commit_callbacks(execute=True):
            answer = user_client.post("/api/v1/policy-files/", *args, **kwargs)
        assert answer.status_code == 201, answer.content
        return user_client.get(f"/api/v1/policy-imports/{answer.json()['id']}/")

    def problems(answer) -> list[str]:
        listed = client.get(f"/api/v1/policy-imports/{answer.json()['id']}/problems/").json()
        assert listed["count"] == answer.json()["problems_count"]
        return [p["message"] for p in listed["results"]]

    upload = post({"file": io.BytesIO(content)}, format="multipart")
    assert upload.json()["status"] == "done", upload.content
    draft = PolicyVersion.objects.get(pk=upload.json()["version"])
    assert draft.status == VersionStatus.DRAFT and draft.engine_document() == published.engine_document()
    shown = client.get(f"/api/v1/policy-imports/{upload.json()['id']}/").json()
    assert (shown["status"], shown["version"], shown["uploaded_by"]) == ("done", draft.pk, admin.username)
    raw = post(data=content, content_type="application/json")
    assert raw.json()["version"] not in (None, draft.pk)
    doc = json.loads(content)
    doc["parameters"]["assistance"]["routes"][1]["ratio"]["value"] = "1.2"
    bad = post({"file": io.BytesIO(json.dumps(doc).encode())}, format="multipart")
    assert bad.json()["status"] == "failed" and bad.json()["version"] is None
    assert any("第2条救助路径 的 救助比例" in e and "assistance" not in e for e in problems(bad)), problems(bad)
    client.cookies["django_language"] = "en"
    bad = post({"file": io.BytesIO(json.dumps(doc).encode())}, format="multipart")
    assert any(e.startswith("assistance.routes[1].ratio: ") for e in problems(bad))
    del client.cookies["django_language"]
    for hostile in (b"\xff\xfe", b"[" * 50_000, b'{"x": 1e400}'):
        answer = post({"file": io.BytesIO(hostile)}, format="multipart")
        assert answer.json()["status"] == "failed" and answer.json()["failure"] and problems(answer)
    assert client.post("/api/v1/policy-files/", {}, format="multipart").status_code == 400
    empty = client.post("/api/v1/policy-files/", {"file": io.BytesIO(b"")}, format="multipart")
    assert empty.status_code == 400 and "文件为空" in empty.json()["detail"]
    other = api(make_user("policy_admin", region="130900", username="cz_x"))
    assert other.get(f"/api/v1/policy-versions/{draft.pk}/file/").status_code == 404
    assert other.get(f"/api/v1/policy-imports/{upload.json()['id']}/").status_code == 404
    refused = post({"file": io.BytesIO(content)}, format="multipart", user_client=other)
    assert refused.json()["status"] == "failed" and "360700" in refused.json()["failure"]
    assert other.post("/api/v1/policy-files/", {"file": io.BytesIO(content), "region": "360700"},
                      format="multipart").status_code == 403
    auditor = api(make_user("auditor", region="360700", username="gz_aud_x"))
    assert auditor.get(f"/api/v1/policy-versions/{published.pk}/file/").status_code == 200
    assert auditor.post("/api/v1/policy-files/", {"file": io.BytesIO(content)}, format="multipart").status_code == 403


# ---------------------------------------------------------------------------------------------
# The worker's part: stored upload, state, problems as rows (issue 13, finding 5)
# ---------------------------------------------------------------------------------------------

def _received(user, content: bytes, *, region=None, name="p.json"):
    from tests.exchange.oncommit import run_on_commit

    with run_on_commit():
        record = services.receive_policy_file(acting_user=user, region=region, fileobj=io.BytesIO(content),
                                              filename=name)
    record.refresh_from_db()
    return record


def test_more_than_100_problems_are_all_stored_paged_and_downloaded(client, settings, tmp_path):
    """A file with 150 problems: every one is kept (no cap), the page shows 100 and the rest on page
    2, the API pages them with the count, the download streams all 150."""
    from portal.models import UploadStatus

    settings.MEDIA_ROOT = tmp_path
    admin = admin_of("360700")
    content = b'{"region": "360700", "x": [' + b", ".join([b"1e400"] * 150) + b"]}"
    with translation.override("zh-hans"):
        record = _received(admin, content)
    assert record.status == UploadStatus.FAILED and record.problems_count == 150 and record.version is None
    assert list(record.problems.values_list("position", flat=True)) == list(range(1, 151))
    assert "x[149]" in record.problems.get(position=150).message and "150" in record.failure
    client.force_login(admin)
    first = client.get(f"/policies/policy-imports/{record.pk}/").content.decode()
    assert "x[99]" in first and "x[100]:" not in first and "文件未导入" in first
    second = client.get(f"/policies/policy-imports/{record.pk}/?page=2").content.decode()
    assert "x[149]" in second and "x[0]:" not in second
    download = client.get(f"/policies/policy-imports/{record.pk}/problems.csv")
    assert download.streaming
    lines = b"".join(download.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 151 and "x[149]" in lines[-1]
    api = APIClient()
    api.force_authenticate(admin)
    listed = api.get(f"/api/v1/policy-imports/{record.pk}/problems/?page=2").json()
    assert listed["count"] == 150 and len(listed["results"]) == 50 and listed["results"][-1]["position"] == 150
    other = make_user("policy_admin", region="360700", username="gz_pa_other")
    client.force_login(other)
    assert client.get(f"/policies/policy-imports/{record.pk}/").status_code == 404  # not theirs


def test_the_worker_imports_once_and_is_safe_to_run_twice(settings, tmp_path):
    """The request only stores the file (nothing parsed: an unreadable file is accepted); the job,
    run again after it finished, changes nothing; the same file sent while it waits is the same
    import."""
    from policies.models import PolicyImport
    from portal.models import UploadStatus

    settings.MEDIA_ROOT = tmp_path
    admin = admin_of("360700")
    text = services.policy_file_text(seeded("360700")).encode()
    waiting = services.receive_policy_file(acting_user=admin, fileobj=io.BytesIO(text), filename="gz.json")
    again = services.receive_policy_file(acting_user=admin, fileobj=io.BytesIO(text), filename="gz.json")
    assert waiting.created and not again.created and again.pk == waiting.pk
    assert waiting.status == UploadStatus.PENDING and waiting.sha256 and waiting.file_size == len(text)
    drafts = PolicyVersion.objects.filter(status=VersionStatus.DRAFT)
    assert not drafts.exists()
    for _run in range(2):
        done = services.process_policy_import(import_id=waiting.pk)
        assert done.status == UploadStatus.DONE and drafts.count() == 1 and done.version == drafts.get()
    garbage = services.receive_policy_file(acting_user=admin, fileobj=io.BytesIO(b"\xff\xfe\x00{"), filename="g.json")
    assert garbage.status == UploadStatus.PENDING  # the request does not read the file
    for _run in range(2):
        failed = services.process_policy_import(import_id=garbage.pk)
        assert failed.status == UploadStatus.FAILED and failed.problems.count() == 1 and "UTF-8" in failed.failure
    assert PolicyImport.objects.count() == 2 and drafts.count() == 1
    with pytest.raises(services.ChangeRefused) as refused:
        services.receive_policy_file(acting_user=admin, fileobj=io.BytesIO(b"x" * (3 * 1024 * 1024)), filename="big.json")
    assert refused.value.field == "file"
    with pytest.raises(services.PermissionDenied):
        services.receive_policy_file(acting_user=admin, region="130900", fileobj=io.BytesIO(text), filename="gz.json")
    with pytest.raises(services.PermissionDenied):
        services.receive_policy_file(acting_user=make_user("auditor", region="360700"), fileobj=io.BytesIO(text),
                                     filename="gz.json")
    assert PolicyImport.objects.count() == 2
