"""The push list as a clerk uses it (issue 14 item 5; the warning list's twin is
tests/cases/monitoring/test_warning_list.py): sorting by a column, the
total, previous and next pages, the Excel export of the current filter (masked numbers, recorded),
search by the last digits of the identity number and by part of a name, region scoping in the
export, bad values that never give a 500; and the API shares the page's filter."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse

from cases.exchange.models import IdentityPush
from portal.models import ListExport
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def xlsx_rows(response) -> list[list[str]]:
    from openpyxl import load_workbook

    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def table(body: str) -> str:
    return body[body.index("<tbody>"):body.index("</tbody>")]


def order(body: str, texts) -> list[str]:
    rows = table(body)
    return sorted(texts, key=rows.index)


def push(name: str, *, region: str = "360702", rows: int = 10, rejected: int = 0):
    return IdentityPush.objects.create(department_id="civil_affairs", region_id=region, original_name=name,
                                       file=f"exchange/pushes/{name}", file_format="csv", content_hash=name,
                                       status="done", rows_total=rows, rows_rejected=rejected)


@pytest.fixture
def auditor():
    return make_user("auditor", region="360700")


# --- pushes -------------------------------------------------------------------------------------------


def test_push_list_sorts_counts_exports_and_records(client, auditor):
    push("甲.csv", rows=30, rejected=2)
    push("乙.csv", rows=10)
    push("丙.csv", rows=20, rejected=1)
    push("丁.csv", region="130903", rows=99)  # 沧州
    client.force_login(auditor)
    url = reverse("exchange:push_list")
    files = ["甲.csv", "乙.csv", "丙.csv"]
    by_rows = client.get(url, {"sort": "rows"}).content.decode()
    assert order(by_rows, files) == ["乙.csv", "丙.csv", "甲.csv"]
    assert order(client.get(url, {"sort": "-rows"}).content.decode(), files) == ["甲.csv", "丙.csv", "乙.csv"]
    assert 'data-total="3"' in by_rows and "丁.csv" not in by_rows
    rows = xlsx_rows(client.get(reverse("exchange:push_export"), {"sort": "-rejected", "status": "done"}))
    assert [r[3] for r in rows[1:]] == ["甲.csv", "丙.csv", "乙.csv"]
    record = ListExport.objects.get()
    assert record.list_name == "pushes" and record.rows == 3 and record.filters == {"status": "done", "sort": "-rejected"}
    for params in ({"status": "nope"}, {"department": "x"}, {"region": "abc"}, {"sort": "file"}, {"page": "x"}):
        assert client.get(url, params).status_code in (200, 400), params
    assert "alert-error" in client.get(url, {"status": "nope"}).content.decode()
