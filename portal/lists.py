"""One helper for every list page (cases, persons, pushes, warnings, payments): sorting by
whitelisted columns, a total, previous and next pages, and an Excel export of the current filter.

A page builds its queryset as it always did — region scoping first (``portal.roles.scoping``, in
the part's selector), then the part's django-filter ``FilterSet`` — and hands it here::

    SORTING = Sorting([Column("name", _("person's name"), ("name",)), ...], default=("-id",))
    listing = lists.listing(request, filterset.qs, sorting=SORTING)
    # template: {% include "portal/_list_total.html" %} … {% sort_th "name" %} … {% include "portal/_list_pager.html" %}

* **Sorting**: ``?sort=key`` or ``?sort=-key`` with a key of the page's columns; anything else is
  ignored (the default order). Ties are broken by ``id`` so that pages never overlap.
* **Pages**: in the default order by ``id`` the pages are keyset pages (``?after=<id>`` /
  ``?before=<id>``, constant time however deep); sorted by a column they are numbered pages
  (``?page=N``).
* **Total**: exact up to :data:`COUNT_EXACT_UP_TO` rows (``COUNT(*)`` over a ``LIMIT``); past that
  PostgreSQL's planner estimate, shown as 约 N (估算). SQLite says "more than N".
* **Export**: :func:`export` writes the filtered, sorted rows (at most :data:`EXPORT_LIMIT`) with
  ``portal.exports.xlsx_response`` and records a :class:`~portal.models.ListExport` (who, which
  list, which filter, how many rows). The parts' row functions show masked identity numbers.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.utils import timezone

PAGE_SIZE = 50
MAX_PAGE = 10_000
COUNT_EXACT_UP_TO = 10_000
EXPORT_LIMIT = 20_000
PAGING_KEYS = ("page", "after", "before")
_FULL_NUMBER = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9Xx])")


@dataclass(frozen=True)
class Column:
    """A sortable column: ``key`` in the URL, its header, the fields it orders by."""

    key: str
    label: str
    fields: tuple[str, ...]


class Sorting:
    """The columns a list may be sorted by, and its default order (``id`` breaks ties)."""

    def __init__(self, columns: Sequence[Column], *, default: Sequence[str] = ("-id",)):
        self.columns = {c.key: c for c in columns}
        self.default = tuple(default)

    def parse(self, value) -> tuple[str | None, bool]:
        """``(key, descending)`` of ``?sort=``; ``(None, False)`` for none or an unknown column."""
        text = str(value or "").strip()
        descending = text.startswith("-")
        key = text[1:] if descending else text
        if key not in self.columns:
            return None, False
        return key, descending

    def ordering(self, key: str | None, descending: bool = False) -> list[str]:
        if key is None:
            fields = list(self.default)
            if not any(f.lstrip("-") in ("id", "pk") for f in fields):
                fields.append("-id")
            return fields
        fields = [("-" + f if descending else f) for f in self.columns[key].fields]
        return [*fields, "-id" if descending else "id"]


# --- Pages -------------------------------------------------------------------------------------------


@dataclass
class ListPage:
    """One page: its rows and the query changes that lead to the previous and the next page."""

    rows: list
    next_params: dict | None
    prev_params: dict | None
    number: int | None = None

    @property
    def has_next(self) -> bool:
        return self.next_params is not None

    @property
    def has_previous(self) -> bool:
        return self.prev_params is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __bool__(self):
        return bool(self.rows)


def _int(value) -> int | None:
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def paginate(request, qs, size: int = PAGE_SIZE):
    """Django's ``Page`` of ``qs`` asked for by ``?page=`` (the last page for a number too large, the
    first for anything not a number), for the short lists that need no sorting."""
    from django.core.paginator import Paginator

    return Paginator(qs, size).get_page(request.GET.get("page"))


def keyset_page(params, qs: QuerySet, *, descending: bool, size: int = PAGE_SIZE) -> ListPage:
    """The page of ``qs`` in ``id`` order after ``?after=<id>`` or before ``?before=<id>``."""
    after, before = _int(params.get("after")), _int(params.get("before"))
    ordering = "-id" if descending else "id"
    if before is not None:
        cond = {"id__gt": before} if descending else {"id__lt": before}
        back = list(qs.filter(**cond).order_by("id" if descending else "-id")[: size + 1])
        more_before = len(back) > size
        rows = list(reversed(back[:size]))
        return ListPage(rows=rows,
                        next_params={"after": rows[-1].pk} if rows else None,
                        prev_params={"before": rows[0].pk} if rows and more_before else None)
    if after is not None:
        qs = qs.filter(**({"id__lt": after} if descending else {"id__gt": after}))
    rows = list(qs.order_by(ordering)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return ListPage(rows=rows,
                    next_params={"after": rows[-1].pk} if rows and more else None,
                    prev_params={"before": rows[0].pk} if rows and after is not None else None)


def numbered_page(params, qs: QuerySet, *, ordering: list[str], size: int = PAGE_SIZE) -> ListPage:
    """Page ``?page=N`` (from 1) of ``qs`` in ``ordering``; ``size + 1`` rows tell whether more follow."""
    number = min(max(_int(params.get("page")) or 1, 1), MAX_PAGE)
    start = (number - 1) * size
    rows = list(qs.order_by(*ordering)[start: start + size + 1])
    more = len(rows) > size
    return ListPage(rows=rows[:size], number=number,
                    next_params={"page": number + 1} if more and number < MAX_PAGE else None,
                    prev_params={"page": number - 1} if number > 1 else None)


def count_estimate(qs: QuerySet) -> tuple[int, bool]:
    """How many rows ``qs`` holds: exact up to :data:`COUNT_EXACT_UP_TO` (``COUNT(*)`` over a
    ``LIMIT``, never the whole table); past it PostgreSQL's planner estimate (``EXPLAIN``, from the
    table statistics), marked as estimated. ``(count, estimated)``."""
    n = qs.order_by()[: COUNT_EXACT_UP_TO + 1].count()
    if n <= COUNT_EXACT_UP_TO:
        return n, False
    connection = connections[qs.db]
    if connection.vendor == "postgresql":
        sql, params = qs.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            row = cursor.fetchone()[0]
        plan = (json.loads(row) if isinstance(row, str) else row)[0]["Plan"]
        return max(int(plan.get("Plan Rows") or 0), COUNT_EXACT_UP_TO + 1), True
    return COUNT_EXACT_UP_TO + 1, True


@dataclass
class Listing:
    """What a list template needs: the page, the total, the sort, and links that keep the filter."""

    page: ListPage
    total: int
    estimated: bool
    sort: str | None
    descending: bool
    sorting: Sorting
    query: QueryDict
    export_url: str | None = None

    def url(self, **changes) -> str:
        """The current query with ``changes`` (``None`` drops a key); paging keys are always reset."""
        query = self.query.copy()
        for key in PAGING_KEYS:
            query.pop(key, None)
        for key, value in changes.items():
            if value is None:
                query.pop(key, None)
            else:
                query[key] = str(value)
        encoded = query.urlencode()
        return f"?{encoded}" if encoded else "?"

    @property
    def next_url(self) -> str | None:
        return self.url(**self.page.next_params) if self.page.next_params else None

    @property
    def prev_url(self) -> str | None:
        return self.url(**self.page.prev_params) if self.page.prev_params else None

    @property
    def export_href(self) -> str | None:
        if not self.export_url:
            return None
        query = self.url()[1:]
        return f"{self.export_url}?{query}" if query else self.export_url


def listing(request, qs: QuerySet, *, sorting: Sorting, size: int | None = None, export_url: str | None = None,
            query: QueryDict | None = None) -> Listing:
    """Sort, page and count ``qs`` (already scoped and filtered) for a list page. ``query``: the
    query the page's links keep (default the request's)."""
    size = size or PAGE_SIZE
    query = without_full_numbers(request.GET if query is None else query)
    key, descending = sorting.parse(query.get("sort"))
    ordering = sorting.ordering(key, descending)
    if len(ordering) == 1 and ordering[0] in ("id", "-id"):
        page = keyset_page(query, qs, descending=ordering[0] == "-id", size=size)
    else:
        page = numbered_page(query, qs, ordering=ordering, size=size)
    total, estimated = count_estimate(qs)
    return Listing(page=page, total=total, estimated=estimated, sort=key, descending=descending, sorting=sorting,
                   query=query, export_url=export_url)


# --- Export ----------------------------------------------------------------------------------------------


class TooManyRows(Exception):
    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


_FULL_VALUE = re.compile(r"^\s*[0-9]{14,17}[0-9Xx]\s*$")


def without_full_numbers(query: QueryDict) -> QueryDict:
    """``query`` less any value that is a whole identity number: a list's links never carry one."""
    if not any(_FULL_VALUE.match(v) for _k, values in query.lists() for v in values):
        return query
    clean = QueryDict(mutable=True)
    for key, values in query.lists():
        clean.setlist(key, [v for v in values if not _FULL_VALUE.match(v)])
    return clean


def mask_numbers(text: str) -> str:
    """Full 18-character identity numbers in ``text`` as masks (first four, last four)."""
    return _FULL_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)


def describe_filters(cleaned: dict, *, sort: str | None = None, descending: bool = False) -> dict:
    """A filter's cleaned values as JSON-safe text for the export record (full numbers masked)."""
    out = {}
    for name, value in (cleaned or {}).items():
        if value in (None, "", [], ()):
            continue
        if isinstance(value, (list, tuple, set)):
            value = ",".join(str(v) for v in value)
        out[name] = mask_numbers(str(getattr(value, "pk", value)))
    if sort:
        out["sort"] = ("-" if descending else "") + sort
    return out


def record_export(*, acting_user, list_name: str, filters: dict, rows: int, file_format: str = "xlsx"):
    """Put one list export on record (the export log)."""
    from .models import ListExport

    with transaction.atomic():
        return ListExport.objects.create(user=acting_user, list_name=list_name[:40], filters=filters, rows=rows,
                                         file_format=file_format)


def export(request, qs: QuerySet, *, list_name: str, sorting: Sorting, headers: Sequence[str],
           row: Callable[[object], Iterable], filters: dict, title: str, limit: int = EXPORT_LIMIT) -> HttpResponse:
    """The rows of ``qs`` (scoped and filtered) in the page's sort order as an Excel file, recorded
    as a :class:`~portal.models.ListExport`. Raises :class:`TooManyRows` past ``limit`` rows."""
    from . import exports

    key, descending = sorting.parse(request.GET.get("sort"))
    ordered = qs.order_by(*sorting.ordering(key, descending))
    n = ordered.order_by()[: limit + 1].count()
    if n > limit:
        raise TooManyRows(n)
    rows = [list(row(obj)) for obj in ordered[:limit]]
    record_export(acting_user=request.user, list_name=list_name,
                  filters={**filters, **({"sort": ("-" if descending else "") + key} if key else {})}, rows=len(rows))
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M")
    return exports.xlsx_response(f"{list_name}_{stamp}.xlsx", headers, rows, title=title)
