"""Reading uploaded tables: CSV in UTF-8, UTF-8 with BOM, GBK or GB18030, and .xlsx.

Departments' older systems often export GBK; the encoding is detected, not asked for.
Rows stream (bounded memory), each as ``(row_number, {header: text})`` where row_number is the
line a person sees in Excel (the header is row 1).
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK and GB2312


class TableError(ValueError):
    """The file cannot be read as a table; the message says why."""


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for UTF-8 (with or without BOM), else gb18030 (covers GBK); error otherwise."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise TableError("文件编码无法识别：请使用 UTF-8、GBK 或 GB18030 编码的 CSV，或 Excel（.xlsx）文件。")


def is_xlsx(head: bytes, filename: str = "") -> bool:
    return head[:2] == b"PK" or filename.lower().endswith(".xlsx")


def _clean(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        try:
            return value.date().isoformat() if hasattr(value, "date") and callable(value.date) else value.isoformat()
        except TypeError:
            return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def iter_rows(stream: BinaryIO, *, filename: str = "", sample_size: int = 1 << 20) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Return the header and an iterator over the data rows of an uploaded CSV or xlsx file."""
    head = stream.read(sample_size)
    stream.seek(0)
    if is_xlsx(head, filename):
        return _iter_xlsx(stream)
    encoding = detect_encoding(head)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise TableError("文件是空的。") from None
    except UnicodeDecodeError:
        raise TableError("文件编码无法识别。") from None

    def rows():
        try:
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                yield number, {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        except UnicodeDecodeError as exc:
            raise TableError(f"第 {reader.line_num} 行附近的编码与文件开头不一致（{exc.reason}）。") from None

    return header, rows()


def _iter_xlsx(stream: BinaryIO):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a broken file
        raise TableError(f"无法读取 Excel 文件：{exc}") from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_clean(h) for h in next(values)]
    except StopIteration:
        raise TableError("Excel 文件是空的。") from None

    def rows():
        for number, row in enumerate(values, start=2):
            cells = [_clean(v) for v in row]
            if not any(cells):
                continue
            yield number, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        workbook.close()

    return header, rows()
