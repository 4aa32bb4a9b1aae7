"""Uploaded tables are read whatever the encoding; exports never carry a live formula."""
import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from portal.exports import csv_bytes, safe_cell, xlsx_bytes
from portal.tabular import TableError, iter_rows

TABLE = [["身份证号码", "姓名", "类别"], ["360702196103121311", "赖福生", "特困人员"], ["", "", ""], ["130903195807071116", "张桂兰", "低保对象"]]


def as_csv(encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(TABLE)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_reads_the_same(encoding):
    header, rows = iter_rows(io.BytesIO(as_csv(encoding)), filename="x.csv")
    assert header == ["身份证号码", "姓名", "类别"]
    got = list(rows)
    assert [n for n, _ in got] == [2, 4]  # blank line skipped, numbering as in Excel
    assert got[0][1]["姓名"] == "赖福生" and got[1][1]["类别"] == "低保对象"


def test_xlsx_reads_the_same():
    wb = Workbook()
    for row in TABLE:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    header, rows = iter_rows(buffer, filename="x.xlsx")
    assert header[0] == "身份证号码"
    assert [r["姓名"] for _, r in rows] == ["赖福生", "张桂兰"]


def test_unreadable_encoding_is_refused_with_a_reason():
    with pytest.raises(TableError, match="编码"):
        iter_rows(io.BytesIO(b"\xff\xfe\x00\x00\xff\xff garbage \x81"), filename="x.csv")


def test_empty_file_is_refused():
    with pytest.raises(TableError, match="空"):
        iter_rows(io.BytesIO(b""), filename="x.csv")


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x"])
def test_formula_like_text_is_neutralised(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("张三") == "张三" and safe_cell(12) == 12


def test_exports_neutralise_formulas_in_csv_and_excel():
    data = csv_bytes(["姓名", "备注"], [["张三", "=HYPERLINK(\"http://x\")"]])
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    wb = load_workbook(io.BytesIO(xlsx_bytes(["姓名", "备注"], [["张三", "@SUM(1)"]])))
    assert wb.active["B2"].value == "'@SUM(1)"
