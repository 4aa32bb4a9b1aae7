"""Reading uploaded tables — the one reader of identity pushes, claim import, bank return files and
policy import: CSV in UTF-8 (with or without BOM), GBK or GB18030, and .xlsx.

Departments' older systems often export GBK; the encoding is detected over the whole file (the
first encoding that decodes every byte), not guessed from its start. Rows stream with bounded
memory, each with the row number a person sees in Excel (the header is row 1, or the first
non-empty row).

Limits (:class:`Limits`), checked before anything is parsed where the file allows it:

* the file's size;
* for .xlsx, the uncompressed size of the whole workbook and of its shared strings (read from the
  zip's directory, without inflating anything: a 1 MB workbook whose shared string expands to
  1 GiB is refused at once);
* the number of rows and the length of a cell, while streaming;
* for JSON documents (:func:`check_json`: policy files), the size, the nesting depth, the number of
  values and the length of a string, on the text before it is parsed (JSON is not a table: the
  limits and the error, :class:`TableError`, are shared, not the reader).

A row that cannot be read — a NUL character, a quote that is never closed, a cell longer than the
limit — is reported with the column it is in (``problems`` of that row), the offending cell left
empty; the rows around it are read as usual (after an unclosed quote, reading starts again on the
next line).

:func:`open_table` gives a :class:`Table` (header, encoding, format, rows); :func:`iter_rows` is
the simple form ``(header, ((row_number, {header: text}), …))`` for small files.
"""
from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, BinaryIO

from django.utils.translation import gettext as _

CHUNK = 1 << 20
ENCODINGS = ("utf-8", "gbk", "gb18030")  # gb18030 is a superset of GBK and GB2312
ENCODING_LABELS = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}
NO_PROBLEMS: tuple = ()
NO_NUMBERS: frozenset = frozenset()
# A quoted cell may hold line breaks; one spanning more lines than this is taken as a quote never closed.
MAX_LINES_PER_ROW = 50
# Cells longer than a limit are reported by the reader itself; the csv module must not stop first.
csv.field_size_limit(max(csv.field_size_limit(), 8 * 1024 * 1024))


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 64 * 1024 * 1024
    max_rows: int = 1_048_575  # Excel's own last row, less the header
    max_cell_chars: int = 32_767  # Excel's own cell limit
    max_columns: int = 512
    max_uncompressed: int = 1024 * 1024 * 1024  # .xlsx: every part together, inflated
    max_shared_strings: int = 64 * 1024 * 1024  # .xlsx: the shared strings, which openpyxl keeps in memory
    # JSON documents (policy files, API pushes): checked on the text before it is parsed
    max_depth: int = 32  # arrays and objects inside one another
    max_items: int = 200_000  # values in all arrays and objects together

    def replace(self, **changes) -> Limits:
        from dataclasses import replace

        return replace(self, **changes)


DEFAULT_LIMITS = Limits()


class TableError(ValueError):
    """The file as a whole cannot be read; the message says why (in the active language)."""


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}"


# ---------------------------------------------------------------------------------------------
# Before parsing: size, format, workbook directory, encoding
# ---------------------------------------------------------------------------------------------


def file_size(stream: IO[bytes]) -> int:
    here = stream.tell()
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(here)
    return size


def sniff_format(head: bytes, filename: str = "") -> str:
    """``xlsx``, ``json`` or ``csv``; an old binary .xls is refused."""
    lowered = (filename or "").lower()
    if head.startswith(b"PK\x03\x04") or (head[:2] == b"PK" and lowered.endswith(".xlsx")):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(_("Old Excel files (.xls) cannot be read; save the sheet as .xlsx or CSV."))
    if lowered.endswith(".json"):
        return "json"
    return "csv"


def is_xlsx(head: bytes, filename: str = "") -> bool:
    try:
        return sniff_format(head, filename) == "xlsx"
    except TableError:
        return False


def check_size(stream: IO[bytes], limits: Limits = DEFAULT_LIMITS) -> int:
    size = file_size(stream)
    if size > limits.max_bytes:
        raise TableError(_("The file is larger than %(mb)s MB; split it.") % {"mb": _mb(limits.max_bytes)})
    return size


def check_workbook(stream: IO[bytes], limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a workbook whose parts inflate beyond the limits, from the zip's directory alone."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        stream.seek(0)
        raise TableError(_("The file is not a readable Excel workbook (.xlsx): %(error)s") % {"error": exc}) from None
    stream.seek(0)
    for member in members:
        if member.filename.lower().endswith("sharedstrings.xml") and member.file_size > limits.max_shared_strings:
            raise TableError(_("The workbook's texts expand to %(size)s MB when opened, more than %(limit)s MB; "
                               "save it as CSV or split it.")
                             % {"size": _mb(member.file_size), "limit": _mb(limits.max_shared_strings)})
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed:
        raise TableError(_("The workbook expands to %(size)s MB when opened, more than %(limit)s MB; save it as CSV "
                           "or split it.") % {"size": _mb(total), "limit": _mb(limits.max_uncompressed)})


def detect_encoding(fileobj: IO[bytes] | bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, ``gbk`` or ``gb18030``: the first that decodes every byte."""
    if isinstance(fileobj, (bytes, bytearray)):
        fileobj = io.BytesIO(fileobj)
    fileobj.seek(0)
    candidates: tuple[str, ...] = ("utf-8-sig",) if fileobj.read(3) == codecs.BOM_UTF8 else ENCODINGS
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
    raise TableError(
        _("The file is not text in UTF-8, GBK or GB18030 (unreadable bytes near byte %(offset)d).") % {"offset": where}
    )


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def cell_text(value) -> str:
    """A cell as text, the way a person reads it in Excel: whole numbers without ``.0``, dates in
    ISO form, booleans as 1/0."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if not (value.hour or value.minute or value.second) else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def cell_problems(cells: list[str], limits: Limits) -> list[tuple[int, str]]:
    problems = []
    for i, cell in enumerate(cells):
        if "\x00" in cell:
            problems.append((i, _("the cell contains a NUL character (\\0)")))
            cells[i] = ""
        elif len(cell) > limits.max_cell_chars:
            problems.append((i, _("the cell is longer than %(n)d characters") % {"n": limits.max_cell_chars}))
            cells[i] = ""
    return problems


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


class Table:
    """An opened upload: ``header`` (texts), ``format``, ``encoding``, ``header_row``, and
    :meth:`rows` yielding ``(row_number, cells, problems, numbers)`` for every non-empty row:
    ``cells`` a list of texts (as long as the row), ``problems`` a tuple of ``(column_index,
    message)``, ``numbers`` the indices of cells that Excel stored as numbers (.xlsx only)."""

    def __init__(self, stream: IO[bytes], *, file_format: str, encoding: str, limits: Limits):
        self.stream = stream
        self.format = file_format
        self.encoding = encoding
        self.limits = limits
        self.header: list[str] = []
        self.header_row = 0
        self.rows_read = 0
        self.progress: Callable[[], float] = lambda: 0.0
        self._rows: Iterator | None = None
        self._close: Callable[[], None] = lambda: None
        if file_format == "xlsx":
            self._open_xlsx()
        else:
            self._open_csv()

    def column_name(self, index: int) -> str:
        if 0 <= index < len(self.header) and self.header[index].strip():
            return self.header[index].strip()
        return _("column %(n)d") % {"n": index + 1}

    def close(self) -> None:
        """Let go of the file (after reading the header only)."""
        self._close()
        self._close = lambda: None

    def rows(self) -> Iterator[tuple[int, list[str], tuple, frozenset]]:
        assert self._rows is not None
        max_rows = self.limits.max_rows
        count = 0
        try:
            for row in self._rows:
                count += 1
                if count > max_rows:
                    raise TableError(_("The file has more than %(n)d rows; split it.") % {"n": max_rows})
                yield row
        finally:
            self.rows_read = count
            self._close()

    def dict_rows(self) -> Iterator[tuple[int, dict[str, str], list[tuple[str, str]]]]:
        """``(row_number, {header: text}, [(column name, message), …])`` — cells stripped."""
        header = [h.strip() for h in self.header]
        for number, cells, problems, _numbers in self.rows():
            values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
            yield number, values, [(self.column_name(i), message) for i, message in problems]

    # --- CSV -------------------------------------------------------------------------------

    def _open_csv(self) -> None:
        stream = self.stream
        total = max(1, file_size(stream))
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=self.encoding or "utf-8", newline="")  # type: ignore[arg-type]
        self.progress = lambda: min(1.0, stream.tell() / total)
        self._close = lambda: text.detach()
        limits = self.limits
        # the longest physical line read at once: every cell of a row at its longest, within reason
        max_line = min(limits.max_cell_chars * 8 + 1024, 4 * 1024 * 1024)
        records = _csv_records(text.readline, max_line, limits)
        header = None
        for number, cells, problems in records:
            if any(c.strip() for c in cells) or problems:
                header, self.header_row = cells, number
                break
        if header is None:
            text.detach()
            raise TableError(_("The file is empty: it has no header row."))
        if len(header) > limits.max_columns:
            text.detach()
            raise TableError(_("The header has %(n)d columns, more than %(max)d.") % {"n": len(header), "max": limits.max_columns})
        self.header = [h.strip().lstrip("\ufeff") for h in header]

        def rows():
            for number, cells, problems in records:
                if problems:
                    yield number, cells, tuple(problems), NO_NUMBERS
                elif any(cells):
                    yield number, cells, NO_PROBLEMS, NO_NUMBERS

        self._rows = rows()

    # --- xlsx ------------------------------------------------------------------------------

    def _open_xlsx(self) -> None:
        check_workbook(self.stream, self.limits)  # before anything is inflated (or even imported)
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.stream, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
            raise TableError(_("The file is not a readable Excel workbook (.xlsx): %(error)s") % {"error": exc}) from None
        self._close = workbook.close
        try:
            sheet = workbook.worksheets[0]
        except IndexError:
            workbook.close()
            raise TableError(_("The workbook has no sheet.")) from None
        total = max(1, sheet.max_row or 1)
        limits = self.limits
        values = sheet.iter_rows(values_only=True)
        state = {"n": 0}
        self.progress = lambda: min(1.0, state["n"] / total)
        header = None
        for number, row in enumerate(values, start=1):
            if any(c is not None and (not isinstance(c, str) or c.strip()) for c in row):
                header, self.header_row = row, number
                break
        if header is None:
            workbook.close()
            raise TableError(_("The workbook's first sheet is empty: it has no header row."))
        self.header = [cell_text(h).strip() for h in header[:limits.max_columns]]
        width = len(self.header)
        start = self.header_row + 1

        def rows():
            for number, row in enumerate(values, start=start):
                state["n"] = number
                if len(row) > width:
                    row = row[:width]
                numbers = NO_NUMBERS
                cells = []
                for i, value in enumerate(row):
                    if value is None:
                        cells.append("")
                    elif isinstance(value, str):
                        cells.append(value)
                    else:
                        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                            numbers = numbers | {i}
                        cells.append(cell_text(value))
                problems = cell_problems(cells, limits)
                if problems:
                    yield number, cells, tuple(problems), numbers
                elif any(c.strip() for c in cells):
                    yield number, cells, NO_PROBLEMS, numbers

        self._rows = rows()


def _csv_records(readline, max_line: int, limits: Limits):
    """``(row_number, cells, problems)`` of every record of a CSV text, robust to bad rows.

    Physical lines are read at most ``max_line`` characters at a time; the quote parity of the
    lines tells where a record ends (a quoted cell may span lines). A record whose quote is never
    closed (end of file, or more than MAX_LINES_PER_ROW lines) is reported and reading resumes on
    the line after its first one; an overlong line is reported and skipped to its end. One
    ``csv.reader`` parses the complete records (fast); what went wrong with a record is passed
    beside it in ``state``."""
    pending: list[str] = []  # lines given back after an unclosed quote, to be read again
    # state: (problem or None, whether the record needs its cells checked)
    state: list = [None, False]
    too_long = _("the cell is longer than %(n)d characters") % {"n": limits.max_cell_chars}
    max_cell = limits.max_cell_chars

    def next_line() -> tuple[str, bool]:
        if pending:
            return pending.pop(), False
        line = readline(max_line)
        if len(line) == max_line and line[-1] not in "\n\r":
            while True:  # skip the rest of an overlong line
                more = readline(max_line)
                if len(more) < max_line or more[-1] in "\n\r":
                    break
            return line, True
        return line, False

    def column_of(text: str) -> tuple[int, int]:
        """(index of the last cell begun in this text, cells begun)"""
        try:
            fields = next(csv.reader([text.replace("\n", " ").replace("\r", " ")], strict=False), [""])
        except csv.Error:
            fields = [""]
        return max(0, len(fields) - 1), len(fields)

    def records():
        while True:
            line, overlong = next_line()
            if not line:
                return
            if overlong:
                column, width = column_of(line)
                state[0] = (column, width, too_long)
                yield "\n"
                continue
            if line.count('"') % 2:
                # a quoted cell goes on: gather lines until the quotes pair up
                lines = [line]
                closed = False
                while len(lines) < MAX_LINES_PER_ROW:
                    more, more_long = next_line()
                    if not more or more_long:
                        break
                    lines.append(more)
                    if more.count('"') % 2:
                        closed = True
                        break
                if not closed:
                    column, width = column_of(line)
                    state[0] = (column, width, _("a quote (\") in this cell is never closed"))
                    pending.extend(reversed(lines[1:]))  # read those lines again as rows of their own
                    yield "\n"
                    continue
                line = "".join(lines)
            state[0] = None
            state[1] = "\x00" in line or len(line) > max_cell
            yield line

    reader = csv.reader(records(), strict=False)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, [], [(0, str(exc))]
            continue
        number += 1
        problem = state[0]
        if problem is not None:
            column, width, message = problem
            yield number, [""] * width, [(column, message)]
        elif state[1]:
            yield number, cells, cell_problems(cells, limits) or NO_PROBLEMS
        else:
            yield number, cells, NO_PROBLEMS


def open_table(stream: BinaryIO, *, filename: str = "", file_format: str | None = None, encoding: str | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Table:
    """Check the file against the limits, detect its form and encoding, read its header."""
    check_size(stream, limits)
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    fmt = file_format or sniff_format(head, filename)
    if fmt == "xlsx":
        return Table(stream, file_format="xlsx", encoding="", limits=limits)
    return Table(stream, file_format="csv", encoding=encoding or detect_encoding(stream), limits=limits)


# ---------------------------------------------------------------------------------------------
# JSON documents: the same limits, checked on the text before parsing
# ---------------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{},]')


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_json(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """The text of a JSON document (UTF-8, with or without BOM) once its size, nesting depth, number
    of values and string lengths are within ``limits`` (``max_bytes``, ``max_depth``, ``max_items``,
    ``max_cell_chars`` for a string) — found by scanning the text for strings and brackets, without
    building anything. Raises :class:`TableError` naming the line and column. Syntax is left to
    the parser that follows (a malformed document may be refused by either)."""
    if len(raw) > limits.max_bytes:
        raise TableError(_("The file is larger than %(mb)s MB; split it.") % {"mb": _mb(limits.max_bytes)})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(_("The file is not UTF-8 text (byte %(pos)s); save it as UTF-8.") % {"pos": exc.start + 1}) from None
    depth = items = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            if len(token) - 2 > limits.max_cell_chars:
                line, column = _line_column(text, match.start())
                raise TableError(_("Line %(line)d, column %(column)d: a text is longer than %(n)d characters.")
                                 % {"line": line, "column": column, "n": limits.max_cell_chars})
        elif first in "[{":
            depth += 1
            items += 1
            if depth > limits.max_depth:
                line, column = _line_column(text, match.start())
                raise TableError(_("Line %(line)d, column %(column)d: nested more than %(n)d levels deep.")
                                 % {"line": line, "column": column, "n": limits.max_depth})
        elif first in "]}":
            depth -= 1
        else:  # a comma: one more value
            items += 1
            if items > limits.max_items:
                line, column = _line_column(text, match.start())
                raise TableError(_("Line %(line)d, column %(column)d: the document has more than %(n)d values.")
                                 % {"line": line, "column": column, "n": limits.max_items})
    return text


def iter_rows(stream: BinaryIO, *, filename: str = "", limits: Limits = DEFAULT_LIMITS,
              on_problem: Callable[[int, str, str], None] | None = None):
    """``(header, rows)``: rows as ``(row_number, {header: text})``. A row with a problem goes to
    ``on_problem(row_number, column_name, message)`` and is left out; without ``on_problem`` it
    makes the whole file fail (:class:`TableError` naming the row and column)."""
    table = open_table(stream, filename=filename, limits=limits)

    def rows():
        for number, values, problems in table.dict_rows():
            if problems:
                for column, message in problems:
                    if on_problem is None:
                        raise TableError(_("Row %(row)d, column %(column)s: %(message)s")
                                         % {"row": number, "column": column, "message": message})
                    on_problem(number, column, message)
                continue
            yield number, values

    return table.header, rows()
