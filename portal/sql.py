"""Raw SQL reading helpers shared by the set-based readers (the recalculation's chunks in
``cases.services.recalc_batch``, the simulation's parts in ``policies.simulation.reading``).

Rows read with a cursor come back as the database gives them: PostgreSQL hands out ``Decimal``,
``date`` and aware ``datetime``; SQLite hands out floats, ints and text. These turn both into what
the ORM would have given, so a reader behaves the same on both.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

CENT = Decimal("0.01")


def table(model) -> str:
    """The model's table name, quoted for the connection."""
    return connection.ops.quote_name(model._meta.db_table)


def fetch(sql: str, params) -> list[tuple]:
    """Every row of one statement on the default connection."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def in_values(column: str, values) -> tuple[str, list]:
    """``column IN (…)`` and its parameters: one array parameter on PostgreSQL (a chunk has
    thousands of ids), a placeholder per value elsewhere; no values match nothing."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def money(value):
    """A money value as the ORM gives it: PostgreSQL returns Decimals; SQLite returns floats and
    ints, which Django's converter turns into Decimals quantized to the fen."""
    if value is None or type(value) is Decimal:
        return value
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(CENT)


def date(value) -> datetime.date | None:
    """A date column's value (SQLite gives text, sometimes with a time)."""
    if value is None or type(value) is datetime.date:
        return value
    if isinstance(value, datetime.datetime):
        return value.date()
    return datetime.date.fromisoformat(str(value)[:10])


def aware_datetime(value):
    """A timestamp column's value, aware (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
    return value
