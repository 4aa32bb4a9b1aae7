"""Reading a pushed file as a stream of rows, whatever its form.

CSV in UTF-8 (with or without BOM), GBK or GB18030 or an Excel workbook (.xlsx, first sheet) — both
read by the portal's one table reader, ``portal.tabular`` (encoding detection, limits on the
workbook's inflated size, rows and cell length, bad rows reported) — or the JSON body of an API
push. Every form yields the same thing: ``RawRow`` tuples of strings, with the row number a person
sees in the file (spreadsheet row; the header is row 1; for JSON the position in ``rows``, from 1).

Problems that make the whole file unreadable raise :class:`PushFileError` with a message for the
sender (undecodable bytes, no header, required columns missing, not a workbook).
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

from django.utils.translation import gettext as _

from portal import tabular

from . import rules

CHUNK = 1 << 20
# What a pushed file may be: the size is checked on receipt (services.pushes.MAX_BYTES); a cell
# longer than any field needs is reported on its row.
LIMITS = tabular.DEFAULT_LIMITS.replace(max_bytes=sys.maxsize, max_cell_chars=4096)


class PushFileError(ValueError):
    """The file as a whole cannot be read; ``str(err)`` tells the sender why."""


class ProblemRow(tuple):
    """A row the reader could not read whole (a NUL character, a quote never closed, a cell too
    long): the offending cells are empty and ``read_problems`` names the fields (see checks)."""

    read_problems: list


def _problem_row(values: tuple, problems) -> ProblemRow:
    row = ProblemRow(values)
    row.read_problems = problems
    return row


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
    residence: str = ""  # optional columns (户籍性质, 参保类型): "" when the file has none
    scheme: str = ""


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
    try:
        return tabular.sniff_format(head, name)
    except tabular.TableError as exc:
        raise PushFileError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------

ENCODINGS = tabular.ENCODINGS
ENCODING_LABELS = tabular.ENCODING_LABELS


def detect_encoding(fileobj: IO[bytes]) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, ``gbk`` or ``gb18030``: the first that decodes every byte."""
    try:
        return tabular.detect_encoding(fileobj)
    except tabular.TableError as exc:
        raise PushFileError(str(exc)) from None


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


def _open(fileobj: IO[bytes], file_format: str, encoding: str, progress: Progress) -> tabular.Table:
    size = tabular.file_size(fileobj)
    try:
        table = tabular.open_table(fileobj, file_format=file_format, encoding=encoding or None, limits=LIMITS)
    except tabular.TableError as exc:
        raise PushFileError(str(exc)) from None
    # (the table reads the stream from here on: it must not be moved)
    progress.total = 100 if file_format == "xlsx" else max(1, size)
    progress.position = lambda: int(table.progress() * progress.total)
    return table


def iter_rows(fileobj: IO[bytes], file_format: str, encoding: str = "", progress: Progress | None = None) -> Iterator[tuple]:
    """The rows of a pushed CSV or .xlsx file as ``RawRow``-ordered tuples (the header is read and
    checked at the first ``next``)."""
    from operator import itemgetter

    progress = progress or Progress()
    table = _open(fileobj, file_format, encoding, progress)
    rows = table.rows()
    try:
        mapping = map_header(table.header)
        pos = _positions(mapping)
        fields = [pos[f] for f in rules.REQUIRED_FIELDS]
        # optional columns: region, then the person's residence and scheme; a column the file does
        # not have reads "" (index -1 of the row with an empty cell added at its end)
        optional = [pos.get(f) for f in ("region", *rules.PERSON_FIELDS)]
        width = max(fields + [i for i in optional if i is not None]) + 1
        missing = any(i is None for i in optional)
        fields += [-1 if i is None else i for i in optional]
        get = itemgetter(*fields)
        i_id = pos["id_number"]
        for n, cells, problems, numbers in rows:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            row = (n, i_id in numbers) + get((*cells, "") if missing else cells)
            if problems:
                # the field's name, or the column's as the file has it for a column the push ignores
                found = [rules.err(mapping[i] if i < len(mapping) and mapping[i] else table.column_name(i),
                                   "unreadable", message=message) for i, message in problems]
                if any(i < len(mapping) and mapping[i] for i, _m in problems) or not any(cells):
                    yield _problem_row(row, found)
                    continue
            if row[2] or any(cells):
                yield row
    except tabular.TableError as exc:
        raise PushFileError(str(exc)) from None
    finally:
        rows.close()


def iter_csv(fileobj: IO[bytes], encoding: str, progress: Progress | None = None) -> Iterator[tuple]:
    return iter_rows(fileobj, "csv", encoding, progress)


def iter_xlsx(fileobj: IO[bytes], progress: Progress | None = None) -> Iterator[tuple]:
    return iter_rows(fileobj, "xlsx", "", progress)


_cell_text = tabular.cell_text


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
    except RecursionError:
        raise PushFileError(_("The JSON body is nested too deeply.")) from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise PushFileError(_("The JSON body must be an object with a list of rows under \"rows\"."))
    if len(rows) > LIMITS.max_rows:
        raise PushFileError(_("The file has more than %(n)d rows; split it.") % {"n": LIMITS.max_rows})
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
        unread = []
        for field, value in values.items():
            if "\x00" in value or len(value) > LIMITS.max_cell_chars:
                cells = [value]
                for _i, message in tabular.cell_problems(cells, LIMITS):
                    unread.append(rules.err(field, "unreadable", message=message))
                values[field] = ""
        row = (n, id_is_number, values.get("id_number", ""), values.get("name", ""),
               values.get("category", ""), values.get("action", ""), values.get("effective", ""),
               values.get("reference", ""), values.get("region", ""), values.get("residence", ""),
               values.get("scheme", ""))
        yield _problem_row(row, unread) if unread else row


def open_rows(fileobj: IO[bytes], file_format: str, encoding: str = "", progress: Progress | None = None):
    """The rows of a stored push."""
    if file_format == "xlsx":
        return iter_xlsx(fileobj, progress)
    if file_format == "json":
        return iter_json(fileobj, progress)
    return iter_csv(fileobj, encoding or detect_encoding(fileobj), progress)
