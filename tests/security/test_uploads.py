"""Uploads (issue 13 finding 5 and the medium findings): every upload — identity pushes, the claim
import, bank return files — goes through one reader (portal.tabular) that refuses a workbook bomb
before inflating it, and reports a NUL character, a quote never closed and a 2 MiB cell on their
row, naming the field, while the good rows around them are kept."""
from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError

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
    from cases.exchange.errors import Invalid

    with pytest.raises(Invalid, match="MB"):
        push_file(civil_liaison(), bomb, name="list.xlsx")


def test_the_claim_import_refuses_the_bomb(bomb):
    from cases.imports.national import import_claims
    from tests.factories import make_user

    with pytest.raises(ValidationError, match="MB"):
        import_claims(acting_user=make_user("caseworker"), fileobj=io.BytesIO(bomb), filename="x.xlsx")


def test_a_bank_return_refuses_the_bomb(bomb, team, settings, tmp_path):
    from cases.services import bank_returns, payments
    from tests.cases.factories import make_case, sent_to_bank

    settings.MEDIA_ROOT = tmp_path
    make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    with pytest.raises(ValidationError, match="MB"):
        bank_returns.receive_bank_return(acting_user=team.payment, batch_id=batch.pk, fileobj=io.BytesIO(bomb),
                                         filename="return.xlsx")


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
    from cases.imports.national import import_claims
    from cases.models import Claim
    from tests.cases.factories import person_with_identity

    person = person_with_identity()
    good1, bad, good2 = _claim_row(person, "S1"), _claim_row(person, "S2"), _claim_row(person, "S3")
    if kind == "quote":
        data = _with_unclosed_quote(CLAIM_HEADER, good1, bad, good2, column=3)
    else:
        bad[3] = BAD_CELLS[kind](bad[3])
        data = _csv(CLAIM_HEADER, [good1, bad, good2]).encode()
    record = import_claims(acting_user=team.caseworker, fileobj=io.BytesIO(data), filename="x.csv")
    assert sorted(Claim.objects.values_list("setl_id", flat=True)) == ["S1", "S3"]
    assert [(e["row"], e["column"]) for e in record.errors] == [(3, "psn_name")]


def test_a_bank_return_reports_the_bad_row_naming_the_column(team, settings, tmp_path):
    from cases.services import bank_returns, payments
    from tests.cases.factories import make_case, sent_to_bank

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
    br = bank_returns.receive_bank_return(acting_user=team.payment, batch_id=batch.pk,
                                          fileobj=io.BytesIO(_csv(header, rows).encode()), filename="r.csv")
    assert br.rows_total == 2 and br.rows_valid == 1
    assert [(e["row"], e["field"]) for e in br.errors] == [(2, "失败原因")]
