"""Reading a pushed file as a stream of rows, whatever its form.

CSV in UTF-8 (with or without BOM), GBK or GB18030 — detected by decoding the whole file once in
chunks — an Excel workbook (.xlsx, first sheet, read-only streaming), or the JSON body of an API
push. Every form yields the same thing: ``RawRow`` tuples of strings, with the row number a person
sees in the file (spreadsheet row; the header is row 1; for JSON the position in ``rows``, from 1).

Problems that make the whole file unreadable raise :class:`PushFileError` with a message for the
sender (undecodable bytes, no header, required columns missing, not a workbook).
"""
from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, NamedTuple

from django.utils.translation import gettext as _

from . import rules

CHUNK = 1 << 20
csv.field_size_limit(1 << 20)


class PushFileError(ValueError):
    """The file as a whole cannot be read; ``str(err)`` tells the sender why."""


class RawRow(NamedTuple):
    """A row as read. The readers yield plain tuples in this order (cheaper to build); wrap one with
    ``RawRow._make`` to read it by name."""

    row_no: int
    id_is_number: bool
    id_number: str
    name: str
    category: str
    action: str
    effective: str
    reference: str
    region: str


@dataclass
class Progress:
    """How far a reader got (bytes or rows), for the progress bar."""

    done: int = 0
    total: int = 1
    position: object = None  # a callable giving ``done`` on demand (a file's tell)

    def share(self) -> float:
        done = self.position() if self.position is not None else self.done
        return min(1.0, max(0.0, done / max(1, self.total)))


def sha256_of(fileobj: IO[bytes]) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(CHUNK), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def canonical_json(rows: list) -> bytes:
    """The JSON rows in one canonical spelling (so the same content has the same hash)."""
    return json.dumps({"rows": rows}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sniff_format(name: str, head: bytes) -> str:
    lowered = (name or "").lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith((".xls",)) and head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PushFileError(_("Old Excel files (.xls) cannot be read; save the sheet as .xlsx or CSV."))
    return "csv"


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------

ENCODINGS = ("utf-8", "gbk", "gb18030")
ENCODING_LABELS = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}


def detect_encoding(fileobj: IO[bytes]) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, ``gbk`` or ``gb18030``: the first that decodes every byte."""
    fileobj.seek(0)
    if fileobj.read(3) == codecs.BOM_UTF8:
        candidates: tuple[str, ...] = ("utf-8-sig",)
    else:
        candidates = ENCODINGS
    where = 0
    for encoding in candidates:
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        offset = 0
        try:
            for chunk in iter(lambda: fileobj.read(CHUNK), b""):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            where = max(where, offset + exc.start)
            continue
        fileobj.seek(0)
        return encoding
    fileobj.seek(0)
    raise PushFileError(
        _("The file is not text in UTF-8, GBK or GB18030 (unreadable bytes near byte %(offset)d).") % {"offset": where}
    )


# ---------------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------------


def map_header(cells: list) -> list[str | None]:
    """The field each column holds (None: ignored). Raises PushFileError for missing or repeated
    required columns."""
    mapping: list[str | None] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        field = rules.HEADER_LOOKUP.get(rules.header_key(cell))
        if field is not None and field in seen:
            raise PushFileError(
                _("Column %(field)s appears twice in the header (columns %(a)d and %(b)d).")
                % {"field": rules.FIELD_LABELS[field], "a": seen[field] + 1, "b": i + 1}
            )
        if field is not None:
            seen[field] = i
        mapping.append(field)
    missing = [f for f in rules.REQUIRED_FIELDS if f not in seen]
    if missing:
        names = "、".join(f"{rules.HEADER_ALIASES[f][0]}（{rules.FIELD_LABELS[f]}）" for f in missing)
        raise PushFileError(
            _("The header row lacks required columns: %(names)s. Expected: %(expected)s.")
            % {"names": names, "expected": "、".join(rules.TEMPLATE_HEADERS)}
        )
    return mapping


def _positions(mapping: list[str | None]) -> dict[str, int]:
    return {field: i for i, field in enumerate(mapping) if field is not None}


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------


def iter_csv(fileobj: IO[bytes], encoding: str, progress: Progress | None = None) -> Iterator[tuple]:
    import io
    from operator import itemgetter

    progress = progress or Progress()
    fileobj.seek(0, 2)
    progress.total = max(1, fileobj.tell())
    fileobj.seek(0)
    progress.position = fileobj.tell  # the text layer reads ahead; close enough for a progress bar
    text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")  # type: ignore[arg-type]
    try:
        reader = csv.reader(text)
        header = None
        row_no = 0
        for row_no, cells in enumerate(reader, start=1):
            if any(c.strip() for c in cells):
                header = cells
                break
        if header is None:
            raise PushFileError(_("The file is empty: it has no header row."))
        pos = _positions(map_header(header))
        fields = [pos[f] for f in rules.REQUIRED_FIELDS]
        i_reg = pos.get("region")
        if i_reg is not None:
            fields.append(i_reg)
        get = itemgetter(*fields)
        width = max(fields) + 1
        no_region = ("",) if i_reg is None else ()
        for n, cells in enumerate(reader, start=row_no + 1):
            if len(cells) < width:
                if not any(cells):
                    continue
                cells = cells + [""] * (width - len(cells))
            row = (n, False) + get(cells) + no_region
            if row[2] or any(cells):
                yield row
    finally:
        text.detach()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def iter_xlsx(fileobj: IO[bytes], progress: Progress | None = None) -> Iterator[RawRow]:
    from openpyxl import load_workbook
    from zipfile import BadZipFile

    progress = progress or Progress()
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise PushFileError(_("The file is not a readable Excel workbook (.xlsx): %(error)s") % {"error": exc}) from None
    try:
        sheet = workbook.worksheets[0]
        progress.total = max(1, sheet.max_row or 1)
        rows = sheet.iter_rows(values_only=True)
        header = None
        row_no = 0
        for row_no, cells in enumerate(rows, start=1):
            if any(c is not None and str(c).strip() for c in cells):
                header = [_cell_text(c) for c in cells]
                break
        if header is None:
            raise PushFileError(_("The workbook's first sheet is empty: it has no header row."))
        pos = _positions(map_header(header))
        i_id = pos["id_number"]
        getters = [pos[f] for f in rules.REQUIRED_FIELDS[1:]]
        i_reg = pos.get("region")
        width = max(pos.values()) + 1
        for n, cells in enumerate(rows, start=row_no + 1):
            progress.done = n
            if len(cells) < width:
                cells = tuple(cells) + (None,) * (width - len(cells))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            raw_id = cells[i_id]
            is_number = isinstance(raw_id, (int, float, Decimal)) and not isinstance(raw_id, bool)
            name, cat, act, eff, ref = (_cell_text(cells[i]) for i in getters)
            yield (n, is_number, _cell_text(raw_id), name, cat, act, eff, ref,
                   _cell_text(cells[i_reg]) if i_reg is not None else "")
    finally:
        workbook.close()


JSON_KEYS = {
    field: tuple(dict.fromkeys([field, *rules.HEADER_ALIASES[field]])) for field in rules.FIELDS
}


def _json_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return _cell_text(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def iter_json(fileobj: IO[bytes], progress: Progress | None = None) -> Iterator[RawRow]:
    progress = progress or Progress()
    fileobj.seek(0)
    try:
        data = json.loads(fileobj.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushFileError(_("The JSON body cannot be read: %(error)s") % {"error": exc}) from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise PushFileError(_("The JSON body must be an object with a list of rows under \"rows\"."))
    progress.total = max(1, len(rows))
    for n, item in enumerate(rows, start=1):
        progress.done = n
        values: dict[str, str] = {}
        id_is_number = False
        if isinstance(item, dict):
            lowered = {rules.header_key(k): v for k, v in item.items()}
            for field, keys in JSON_KEYS.items():
                for key in keys:
                    k = rules.header_key(key)
                    if k in lowered:
                        value = lowered[k]
                        values[field] = _json_value(value)
                        if field == "id_number":
                            # JSON integers are exact; a float has lost digits.
                            id_is_number = isinstance(value, float)
                        break
        yield (n, id_is_number, values.get("id_number", ""), values.get("name", ""),
                     values.get("category", ""), values.get("action", ""), values.get("effective", ""),
                     values.get("reference", ""), values.get("region", ""))


def open_rows(fileobj: IO[bytes], file_format: str, encoding: str = "", progress: Progress | None = None):
    """The rows of a stored push."""
    if file_format == "xlsx":
        return iter_xlsx(fileobj, progress)
    if file_format == "json":
        return iter_json(fileobj, progress)
    return iter_csv(fileobj, encoding or detect_encoding(fileobj), progress)
