"""Uploads (issue 13 finding 5 and the medium findings): every upload — identity pushes, the claim
import, bank return files — goes through one reader (portal.tabular) that refuses a workbook bomb
before inflating it, and reports a NUL character, a quote never closed and a 2 MiB cell on their
row, naming the field, while the good rows around them are kept; policy files (JSON) are checked
against the same limits before they are parsed. The tables are read by the worker, and each
upload's problems are paged in the API (with a count)."""
from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest

from portal import tabular
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number, push_file

pytestmark = pytest.mark.django_db

GIB = 1024 * 1024 * 1024


@pytest.fixture
def team(db, settings):
    """A 赣州市 team with the statistics the engine needs (tests.cases.factories)."""
    from policies import bookcache
    from tests.cases.factories import add_statistics, make_team

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    bookcache.forget()
    add_statistics()
    yield make_team("360700")
    bookcache.forget()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A small .xlsx whose shared strings inflate to 1 GiB (written in chunks: it never is in memory).
    Making it takes seconds, so it is kept in the temporary folder for the next run."""
    import tempfile
    from pathlib import Path

    cached = Path(tempfile.gettempdir()) / "portal-test-xlsx-bomb-1gib.xlsx"
    if cached.exists():
        return cached.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>')
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(b'<sst><si><t>')
            chunk = b"A" * (16 * 1024 * 1024)
            for _ in range(GIB // len(chunk)):
                member.write(chunk)
            member.write(b"</t></si></sst>")
    data = out.getvalue()
    partial = cached.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def test_the_bomb_is_small_and_refused_by_the_reader_in_milliseconds(bomb):
    assert len(bomb) < 8 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(tabular.TableError, match="MB"):
        tabular.open_table(io.BytesIO(bomb), filename="x.xlsx")
    assert time.perf_counter() - started < 0.5


def test_a_push_refuses_the_bomb(bomb):
    """The request stores the file; the worker finds the bomb and fails the push, saying why, with
    nothing applied."""
    from cases.exchange.models import PushStatus

    push, _created = push_file(civil_liaison(), bomb, name="list.xlsx")
    assert push.status == PushStatus.FAILED and "MB" in push.failure, (push.status, push.failure)
    assert push.rows_applied == 0


def test_the_claim_import_refuses_the_bomb(bomb):
    """The request stores the file; the worker finds the bomb from the zip's directory and fails the
    import, saying why, with nothing imported."""
    from cases.models import Claim
    from tests.factories import make_user
    from tests.uploads import import_claims

    record = import_claims(make_user("caseworker"), bomb, name="x.xlsx")
    assert record.status == "failed" and "MB" in record.failure, (record.status, record.failure)
    assert not Claim.objects.exists()


def test_a_bank_return_refuses_the_bomb(bomb, team, settings, tmp_path):
    from cases.services import payments
    from tests.cases.factories import make_case, sent_to_bank
    from tests.uploads import bank_return

    settings.MEDIA_ROOT = tmp_path
    make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    received = bank_return(team.payment, batch.pk, bomb, name="return.xlsx")
    assert received.status == "failed" and "MB" in received.failure, (received.status, received.failure)
    assert (received.lines_paid, received.lines_failed) == (0, 0)


# --- bad rows: reported with their field, the good rows kept ---------------------------------------

BAD_CELLS = {
    "nul": lambda good: good[:1] + "\x00" + good[1:],
    "long": lambda good: "x" * (2 * 1024 * 1024),
}


def _csv(header, rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def _with_unclosed_quote(header, good_before, bad, good_after, column: int) -> bytes:
    """The bad row with a quote opened in ``column`` and never closed, between good rows."""
    text = _csv(header, [good_before])
    cells = list(bad)
    cells[column] = '"' + cells[column]
    text += ",".join(cells) + "\n" + _csv(header, [good_after]).split("\n", 1)[1]
    return text.encode()


PUSH_HEADER = ["身份证号码", "姓名", "身份类别", "变动类型", "生效日期", "文件文号", "行政区划"]


def _push_row(name="张三"):
    return [new_number(), name, "低保对象", "新增", "2023-05-01", "赣民〔2023〕1号", ""]


@pytest.mark.parametrize("kind", ["nul", "long", "quote"])
def test_a_push_reports_the_bad_row_naming_the_field_and_keeps_the_good_ones(kind):
    from cases.exchange.models import PushRejectedRow

    good1, bad, good2 = _push_row(), _push_row(), _push_row()
    if kind == "quote":
        data = _with_unclosed_quote(PUSH_HEADER, good1, bad, good2, column=1)
    else:
        bad[1] = BAD_CELLS[kind](bad[1])
        data = csv_bytes([good1, bad, good2])
    push, _ = push_file(civil_liaison(), data)
    assert push.status == "done", push.failure
    rejected = list(PushRejectedRow.objects.filter(push=push))
    assert [r.row_no for r in rejected] == [3]
    assert rejected[0].errors[0]["field"] == "name"
    assert push.rows_total == 3 and push.rows_rejected == 1


CLAIM_HEADER = ["setl_id", "psn_cert_type", "certno", "psn_name", "med_type", "setl_time", "medfee_sumamt",
                "inscp_scp_amt", "hifp_pay", "hifmi_pay", "maf_pay"]


def _claim_row(person, setl_id, name=None):
    return [setl_id, "01", person.id_number, name or person.name, "21", "2023-03-10 10:20:30", "52000.00",
            "48000.00", "30000.00", "6000.00", "0"]


@pytest.mark.parametrize("kind", ["nul", "long", "quote"])
def test_the_claim_import_reports_the_bad_row_naming_the_column_and_keeps_the_good_ones(kind, team):
    from cases.models import Claim
    from tests.cases.factories import person_with_identity
    from tests.uploads import import_claims

    person = person_with_identity()
    good1, bad, good2 = _claim_row(person, "S1"), _claim_row(person, "S2"), _claim_row(person, "S3")
    if kind == "quote":
        data = _with_unclosed_quote(CLAIM_HEADER, good1, bad, good2, column=3)
    else:
        bad[3] = BAD_CELLS[kind](bad[3])
        data = _csv(CLAIM_HEADER, [good1, bad, good2]).encode()
    record = import_claims(team.caseworker, data, "x.csv")
    assert sorted(Claim.objects.values_list("setl_id", flat=True)) == ["S1", "S3"]
    assert [(e["row"], e["column"]) for e in record.errors] == [(3, "psn_name")]


def test_a_bank_return_reports_the_bad_row_naming_the_column(team, settings, tmp_path):
    from cases.services import payments
    from tests.cases.factories import make_case, sent_to_bank
    from tests.uploads import bank_return

    settings.MEDIA_ROOT = tmp_path
    make_case(team, "approved"), make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    header = ["明细号", "批次号", "收款人", "账号", "金额", "结果", "银行流水号", "失败原因"]
    rows = []
    for line in batch.lines.order_by("pk"):
        rows.append([str(line.pk), batch.number, line.payee_name, line.payee_account, f"{line.amount}", "成功",
                     f"B{line.pk:08d}", ""])
    rows[0][7] = "失败\x00原因"
    br = bank_return(team.payment, batch.pk, _csv(header, rows).encode(), "r.csv")
    assert br.rows_total == 2 and br.rows_valid == 1 and br.lines_paid == 1
    assert [(e["row"], e["field"]) for e in br.errors] == [(2, "失败原因")]


# --- the matrix: every upload endpoint × every kind of bad row, through the API --------------------

def _bad(header, good1, bad, good2, column, kind) -> bytes:
    if kind == "quote":
        return _with_unclosed_quote(header, good1, bad, good2, column=column)
    bad = list(bad)
    bad[column] = BAD_CELLS[kind](bad[column])
    return _csv(header, [good1, bad, good2]).encode()


def _upload(api, url, data: bytes, name: str, **fields):
    from tests.exchange.oncommit import run_on_commit

    upload = io.BytesIO(data)
    upload.name = name
    with run_on_commit():  # received in the request; the worker's task runs on commit
        return api.post(url, {"file": upload, **fields}, format="multipart")


def _push_endpoint(team):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(civil_liaison())
    good1, bad, good2 = _push_row(), _push_row(), _push_row()

    def send(kind):
        answer = _upload(api, "/api/v1/exchange/pushes/upload/", _bad(PUSH_HEADER, good1, bad, good2, 1, kind),
                         "list.csv", department="civil_affairs", region="360702")
        assert answer.status_code == 201, answer.content
        pk = answer.json()["id"]
        shown = api.get(f"/api/v1/exchange/pushes/{pk}/").json()
        errors = api.get(f"/api/v1/exchange/pushes/{pk}/rejected/").json()
        # a row whose cell could not be read has its cells emptied: the read problem comes first
        problems = [(r["row_no"], r["problems"][0]["field"]) for r in errors["results"]]
        return shown["rows_total"] - shown["rows_rejected"], errors["count"], problems

    return send, (3, "name")


def _claim_endpoint(team):
    from rest_framework.test import APIClient

    from tests.cases.factories import person_with_identity

    api = APIClient()
    api.force_authenticate(team.caseworker)
    person = person_with_identity()

    def send(kind):
        n = next(_serial)
        good1, bad, good2 = (_claim_row(person, f"M{n}-{i}") for i in range(3))
        answer = _upload(api, "/api/v1/claims/import/", _bad(CLAIM_HEADER, good1, bad, good2, 3, kind), "x.csv")
        assert answer.status_code == 201, answer.content
        pk = answer.json()["id"]
        shown = api.get(f"/api/v1/claim-imports/{pk}/").json()
        errors = api.get(f"/api/v1/claim-imports/{pk}/errors/").json()
        return shown["rows_created"], errors["count"], [(e["row"], e["column"]) for e in errors["results"]]

    return send, (3, "psn_name")


def _bank_return_endpoint(team):
    from rest_framework.test import APIClient

    from cases.services import payments
    from tests.cases.factories import make_case, sent_to_bank

    api = APIClient()
    api.force_authenticate(team.payment)
    header = ["明细号", "批次号", "收款人", "账号", "金额", "结果", "银行流水号", "失败原因"]

    def send(kind):
        for _ in range(3):
            make_case(team, "approved")
        batch = payments.create_batch(acting_user=team.payment, region_code="360700")
        sent_to_bank(team, batch)
        rows = [[str(line.pk), batch.number, line.payee_name, line.payee_account, f"{line.amount}", "成功",
                 f"B{line.pk:08d}", ""] for line in batch.lines.order_by("pk")]
        answer = _upload(api, f"/api/v1/payment-batches/{batch.pk}/bank-returns/",
                         _bad(header, rows[0], rows[1], rows[2], 2, kind), "return.csv")
        assert answer.status_code == 201, answer.content
        pk = answer.json()["id"]
        shown = api.get(f"/api/v1/bank-returns/{pk}/").json()
        errors = api.get(f"/api/v1/bank-returns/{pk}/errors/").json()
        return shown["lines_paid"], errors["count"], [(e["row"], e["field"]) for e in errors["results"]]

    return send, (3, "收款人")


_serial = iter(range(1, 10**6))
ENDPOINTS = {"push": _push_endpoint, "claim import": _claim_endpoint, "bank return": _bank_return_endpoint}


@pytest.mark.parametrize("kind", ["nul", "long", "quote"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_upload_endpoint_reports_the_bad_row_and_keeps_the_good_ones(endpoint, kind, team, settings, tmp_path):
    """Row 3 of three carries the bad cell; its field is named in the paged problems (with their
    count) and rows 2 and 4 are applied."""
    settings.MEDIA_ROOT = tmp_path
    send, expected = ENDPOINTS[endpoint](team)
    applied, count, problems = send(kind)
    assert problems == [expected] and count == 1
    assert applied == 2


# --- policy files: the same limits, on the text, before parsing -------------------------------------

def _policy_doc(**extra) -> dict:
    return {"region": "360700", "document": "赣医保〔2024〕1号", "title": "x", **extra}


HOSTILE_POLICY_FILES = {
    "nested 5 000 deep": (b'{"region": "360700", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "嵌套超过 24 层"),
    "300 000 values": (b'{"region": "360700", "x": [' + b"1," * 300_000 + b"1]}", "值超过 20000 个"),
    "a 2 MiB text": (b'{"region": "360700", "x": "' + b"x" * (2 * 1024 * 1024 - 40) + b'"}', "超过 4000 个字符"),
    "3 MB": (b'{"region": "360700", "x": "' + b"x" * (3 * 1024 * 1024) + b'"}', "文件超过 2 MB"),
}


@pytest.mark.parametrize("name", list(HOSTILE_POLICY_FILES))
def test_a_policy_file_beyond_the_limits_is_refused_before_parsing(name, monkeypatch, django_capture_on_commit_callbacks):
    """A file too large is refused in the request; the others are stored, and the worker refuses
    them naming the line and column, in Chinese, without ever calling the JSON parser: the import
    fails with the message, which its page and the API show."""
    from rest_framework.test import APIClient

    from tests.factories import make_user

    content, words = HOSTILE_POLICY_FILES[name]
    parsed = []
    import json
    from types import SimpleNamespace

    import policies.services as policy_services

    # the policy services' parser only (the outbox's job rows are JSON too)
    monkeypatch.setattr(policy_services, "json", SimpleNamespace(
        loads=lambda *a, **k: parsed.append(1) or {}, dumps=json.dumps, JSONDecodeError=json.JSONDecodeError))
    api = APIClient()
    api.force_authenticate(make_user("policy_admin", region="360700"))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/api/v1/policy-files/", {"file": io.BytesIO(content)}, format="multipart")
    if name == "3 MB":
        assert answer.status_code == 400 and words in answer.content.decode(), answer.content[:300]
    else:
        assert answer.status_code == 201, answer.content[:300]
        answer = api.get(f"/api/v1/policy-imports/{answer.json()['id']}/")
        assert answer.json()["status"] == "failed" and words in answer.json()["failure"], answer.content[:300]
        problems = api.get(f"/api/v1/policy-imports/{answer.json()['id']}/problems/").json()
        assert problems["count"] == 1 and words in problems["results"][0]["message"]
    assert not parsed
