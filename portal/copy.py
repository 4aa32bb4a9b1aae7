"""PostgreSQL ``COPY … FROM STDIN``, in one place (bulk writes are set-based: rows go to a table or a
staging table by COPY, then SQL does the rest).

* :func:`copy_rows` — rows of Python values into a model's table (psycopg adapts each value);
* :func:`text_line` / :data:`ESCAPES` — one line of COPY's text format, for callers that write
  preformatted text in blocks (``copy.write``), which is cheaper than adapting every value.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.db import connection

# COPY text format: backslash, tab, newline and carriage return are escaped; NULL is \N.
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def text_line(values: Iterable) -> str:
    """One line of COPY text: None as NULL, dates in ISO form, text escaped, the rest by ``str``."""
    out = []
    for value in values:
        if value is None:
            out.append(NULL)
        elif isinstance(value, str):
            out.append(value.translate(ESCAPES))
        elif isinstance(value, datetime.date):
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return "\t".join(out) + "\n"


def copy_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY ``rows`` (tuples in the order of ``columns``, which name the model's fields) into the
    model's table, on the default connection inside the caller's transaction."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)
