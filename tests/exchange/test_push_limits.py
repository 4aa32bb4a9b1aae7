"""The JSON push API's own limits (rows, body size, nesting), each refused naming the field in the
reader's language, and rows the reader cannot read reported on their row while the good rows are
applied; the request only stores what it received (hashed as it arrived, never read again)."""
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from cases.exchange.models import IdentityPush
from cases.exchange.services import pushes
from cases.models import Person
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number
from tests.exchange.oncommit import run_on_commit

pytestmark = pytest.mark.django_db
URL = "/api/v1/exchange/pushes/"


def row(n=None, **extra):
    return {"id_number": n or new_number(), "name": "赵六", "category": "低保对象", "action": "新增",
            "effective_date": "2023-05-01", "reference": "赣民〔2023〕5号", **extra}


@pytest.fixture
def api():
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_authenticate(civil_liaison("360702"))
    return client


def post_raw(api, body: bytes):
    return api.generic("POST", URL, body, content_type="application/json")


def test_more_rows_than_an_api_push_carries_is_a_400_naming_rows(api, monkeypatch):
    from cases.exchange.api import views  # noqa: F401  (its schema text is written with the real limit)

    monkeypatch.setattr(pushes, "MAX_JSON_ROWS", 3)
    response = api.post(URL, {"rows": [row() for _ in range(4)]}, format="json")
    body = response.json()
    assert response.status_code == 400 and body["field"] == "rows"
    assert "4" in body["detail"] and "3" in body["detail"] and "行" in body["detail"]
    assert not IdentityPush.objects.exists()
    assert api.post(URL, {"rows": [row() for _ in range(3)]}, format="json").status_code == 201


def test_a_body_larger_than_the_limit_is_a_413_naming_rows_before_it_is_parsed(api, monkeypatch):
    from cases.exchange.api import views

    monkeypatch.setattr(views.PushJSONParser, "limits", pushes.JSON_LIMITS.replace(max_bytes=2000))
    response = api.post(URL, {"rows": [row() for _ in range(20)]}, format="json")
    body = response.json()
    assert response.status_code == 413 and body["field"] == "rows" and body["code"] == "too_large"
    assert "MB" in body["detail"] and "rows" in body["detail"] and not IdentityPush.objects.exists()


@pytest.mark.parametrize("depth", [6, 5000])
def test_deep_nesting_is_a_400_naming_rows_never_a_500(api, depth):
    value = "[" * depth + "]" * depth
    response = post_raw(api, ('{"rows": [{"id_number": "1", "name": ' + value + '}]}').encode())
    body = response.json()
    assert response.status_code == 400 and body["field"] == "rows" and "层" in body["detail"], body
    assert not IdentityPush.objects.exists()


def test_malformed_json_is_a_400_not_a_500(api):
    for raw in (b'{"rows": [', b"\xff\xfe", b'{"rows": [1e400]}'):
        response = post_raw(api, raw)
        assert response.status_code == 400, (raw, response.content)
        assert not IdentityPush.objects.exists()


def test_a_nul_character_or_a_huge_text_rejects_its_row_naming_the_field_and_keeps_the_good_rows(api):
    good, nul, huge = new_number(), new_number(), new_number()
    rows = [row(good), row(nul, name="赵\u0000六"), row(huge, reference="文" * (2 * 1024 * 1024))]
    with run_on_commit():
        response = api.post(URL, {"rows": rows}, format="json")
    assert response.status_code == 201, response.content
    push = IdentityPush.objects.get(pk=response.json()["id"])
    assert push.status == "done" and push.rows_total == 3 and push.rows_rejected == 2
    assert Person.objects.filter(id_number=good).exists()
    assert not Person.objects.filter(id_number__in=[nul, huge]).exists()
    rejected = api.get(f"{URL}{push.pk}/rejected/").json()["results"]
    fields = {r["row_no"]: [p["field"] for p in r["problems"]] for r in rejected}
    assert "name" in fields[2] and "reference" in fields[3]


def test_the_schema_documents_the_limits_and_the_413(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/exchange/pushes/"]["post"]
    assert "413" in create["responses"] and str(pushes.MAX_JSON_ROWS) in create["description"]


def test_a_web_upload_is_hashed_as_it_arrives_and_stored_unread(client):
    client.force_login(civil_liaison())
    data = csv_bytes([[new_number(), "张三", "低保", "新增", "2023-05-01", "文", ""]], encoding="gbk")
    response = client.post(reverse("exchange:push_new"), {
        "department": "civil_affairs", "region": "360702", "file": SimpleUploadedFile("list.csv", data)})
    assert response.status_code == 302
    push = IdentityPush.objects.get()
    assert push.content_hash == hashlib.sha256(data).hexdigest()
    assert (push.status, push.encoding) == ("queued", "")  # the worker detects the encoding
    with push.file.open("rb") as stored:
        assert stored.read() == data


def test_uploads_hash_big_files_too(settings, client):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # the temporary-file handler takes it
    client.force_login(civil_liaison())
    data = csv_bytes([[new_number(), "张三", "低保", "新增", "2023-05-01", "文", ""] for _ in range(50)])
    client.post(reverse("exchange:push_new"), {"department": "civil_affairs", "region": "360702",
                                               "file": SimpleUploadedFile("l.csv", data)})
    assert IdentityPush.objects.get().content_hash == hashlib.sha256(data).hexdigest()

