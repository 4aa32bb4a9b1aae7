"""Writing CSV and Excel files that people open in Excel/WPS.

Every cell goes through :func:`safe_cell`: text whose first visible character is ``=``, ``+``,
``-``, ``@`` or their full-width forms ``＝＋－＠`` — after any spaces, tabs, line breaks, BOM or
zero-width characters in front, which spreadsheets skip — or that starts with a tab, carriage return
or line feed, is prefixed with ``'`` so that a spreadsheet never evaluates it as a formula
(CSV/formula injection). CSV is UTF-8 with a BOM so that Excel detects the encoding.
"""
from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
# What a spreadsheet may skip before a formula: white space (any), BOM, zero-width and bidi marks.
_SKIPPED = re.compile(r"[\s\ufeff\u200b-\u200f\u202a-\u202e\u2060-\u2064\u180e\u00ad]*")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """A value safe to put in a spreadsheet cell; numbers and dates stay typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, Decimal, datetime.date, datetime.datetime)):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) or text[_SKIPPED.match(text).end():].startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _csv_cell(value) -> str:
    value = safe_cell(value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _write_workbook(out, headers: Sequence[str], rows: Iterable[Sequence], *, title: str) -> None:
    """Write ``headers`` (bold) and ``rows`` as one sheet to ``out``, row by row (openpyxl's
    write-only mode): cells neutralised by :func:`safe_cell`, an aware datetime without its zone (Excel has none)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Sheet1")
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(h))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        values = []
        for v in row:
            v = safe_cell(v)
            if isinstance(v, datetime.datetime) and v.tzinfo is not None:
                v = v.replace(tzinfo=None)
            values.append(v)
        sheet.append(values)
    workbook.save(out)


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Sheet1") -> bytes:
    out = io.BytesIO()
    _write_workbook(out, headers, rows, title=title)
    return out.getvalue()


def _disposition(filename: str) -> str:
    return content_disposition_header(True, filename)


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(csv_bytes(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _disposition(filename)
    return response


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Sheet1") -> HttpResponse:
    response = HttpResponse(xlsx_bytes(headers, rows, title=title), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = _disposition(filename)
    return response


def table_response(fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence],
                   title: str = "Sheet1") -> HttpResponse:
    """``fmt`` "xlsx" or "csv" as a download named ``filename.fmt``; any other format is a 404 (it
    comes from the URL)."""
    if fmt == "xlsx":
        return xlsx_response(f"{filename}.xlsx", headers, rows, title=title)
    if fmt == "csv":
        return csv_response(f"{filename}.csv", headers, rows)
    from django.http import Http404

    raise Http404


# --- Streamed downloads (long lists: rejected rows of an upload) ----------------------------------


class _Echo:
    def write(self, value):
        return value


def csv_stream(headers: Sequence[str], rows: Iterable[Sequence]):
    """The CSV (UTF-8 with BOM) line by line: memory stays bounded whatever the number of rows."""
    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow([_csv_cell(h) for h in headers])).encode("utf-8")
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([_csv_cell(v) for v in row]))
        if len(batch) >= 500:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")


def csv_streaming_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _disposition(filename)
    return response


def xlsx_streaming_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], *,
                            title: str = "Sheet1") -> FileResponse:
    """An .xlsx written row by row to a temporary file (openpyxl's write-only mode), then sent in
    chunks (``FileResponse`` is a streaming response): never the whole workbook in memory."""
    import tempfile

    out = tempfile.TemporaryFile()
    _write_workbook(out, headers, rows, title=title)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def streaming_response(fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence], *,
                       title: str = "Sheet1"):
    """``fmt`` "csv" or "xlsx" (anything else: ValueError) as a streamed download named ``filename.fmt``."""
    if fmt == "csv":
        return csv_streaming_response(f"{filename}.csv", headers, rows)
    if fmt == "xlsx":
        return xlsx_streaming_response(f"{filename}.xlsx", headers, rows, title=title)
    raise ValueError(fmt)
