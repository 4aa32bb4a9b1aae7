"""The warning list as a clerk uses it (issue 14 item 5): sorting by a column, the total, previous
and next pages, the Excel export of the current filter (masked numbers, recorded), search by the last
digits of the identity number and by part of a name, region scoping in the export, bad values that
never give a 500; and the API shares the page's filter."""
from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.monitoring.models import MonitoringWarning
from portal.models import ListExport
from tests.cases.factories import person_with_identity
from tests.exchange.test_lists import order, table, xlsx_rows
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def warning(name: str, *, region: str = "360702", year: int = 2024, out_of_pocket: str = "1000.00", outcome: str = "",
            day: int = 1):
    person = person_with_identity(region=region, name=name)
    return MonitoringWarning.objects.create(
        person=person, region_id=region, year=year, kind="return_to_poverty", claim_date=datetime.date(year, 3, day),
        threshold=Decimal("800.00"), out_of_pocket=Decimal(out_of_pocket), outcome=outcome)


@pytest.fixture
def auditor():
    return make_user("auditor", region="360700")


def test_warning_list_sorts_by_out_of_pocket_and_counts(client, auditor):
    warning("低某", out_of_pocket="900.00"), warning("中某", out_of_pocket="5000.00"), \
        warning("高某", out_of_pocket="12000.00")
    client.force_login(auditor)
    url = reverse("monitoring:warning_list")
    names = ["低某", "中某", "高某"]
    up = client.get(url, {"sort": "out_of_pocket"}).content.decode()
    down = client.get(url, {"sort": "-out_of_pocket"}).content.decode()
    assert order(up, names) == names and order(down, names) == names[::-1]
    assert 'data-total="3"' in up and "共 3 条" in up


def test_warning_list_pages_forward_and_back(client, auditor):
    from portal import lists

    names = [f"翻页{i:02d}" for i in range(5)]
    for i, n in enumerate(names):
        warning(n, day=i + 1)
    client.force_login(auditor)
    url = reverse("monitoring:warning_list")
    original = lists.PAGE_SIZE
    lists.PAGE_SIZE = 2
    try:
        first = client.get(url, {"sort": "person"}).content.decode()
        assert [n for n in names if n in table(first)] == names[:2] and 'rel="prev"' not in first
        nxt = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
        second = client.get(url + nxt).content.decode()
        assert [n for n in names if n in table(second)] == names[2:4]
        prev = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
        assert [n for n in names if n in table(client.get(url + prev).content.decode())] == names[:2]
    finally:
        lists.PAGE_SIZE = original


def test_warning_search_by_last_digits_and_part_of_a_name(client, auditor):
    wanted, other = warning("欧阳春花"), warning("谢建国")
    client.force_login(auditor)
    url = reverse("monitoring:warning_list")
    for q in (wanted.person.id_number[-4:], wanted.person.id_number[-6:], "阳春", wanted.person.masked_id_number):
        body = table(client.get(url, {"q": q}).content.decode())
        assert "欧阳春花" in body and "谢建国" not in body, q
    assert other.pk


def test_warning_export_is_masked_filtered_scoped_and_recorded(client, auditor):
    wanted = warning("欧阳春花")
    warning("谢建国")
    warning("欧阳秋月", region="130903")  # 沧州: not the auditor's region
    client.force_login(auditor)
    body = client.get(reverse("monitoring:warning_list"), {"q": "欧阳", "state": "open"}).content.decode()
    href = re.search(r'data-export href="([^"]+)"', body).group(1).replace("&amp;", "&")
    rows = xlsx_rows(client.get(href))
    assert rows[0][:2] == ["人员", "身份证号码"]
    assert [r[0] for r in rows[1:]] == ["欧阳春花"]
    assert rows[1][1] == wanted.person.masked_id_number and wanted.person.id_number not in str(rows)
    assert "欧阳秋月" not in str(rows)
    record = ListExport.objects.get()
    assert record.user == auditor and record.list_name == "warnings" and record.rows == 1
    assert record.filters == {"q": "欧阳", "state": "open"}


def test_warning_list_bad_values_are_refused_in_chinese_never_a_500(client, auditor):
    warning("张三")
    client.force_login(auditor)
    url = reverse("monitoring:warning_list")
    for params in ({"year": "abc"}, {"year": "1e3"}, {"kind": "nope"}, {"state": "nope"}, {"region": "x"},
                   {"since": "yesterday"}, {"sort": "person__id_number"}, {"page": "-3"}, {"q": "3" * 18}):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (params, response.status_code)
    body = client.get(url, {"kind": "nope"}).content.decode()
    assert "alert-error" in body and "类型" in body
    full = client.get(url, {"q": "36070219700506123X"}).content.decode()
    assert "搜索框" in full  # a full number is not searched from the address
    assert client.get(reverse("monitoring:warning_list_export"), {"year": "abc"}).status_code == 302
    assert not ListExport.objects.exists()


def test_warning_api_shares_the_filter_and_refuses_bad_values(auditor):
    from rest_framework.test import APIClient

    wanted = warning("欧阳春花", year=2024)
    warning("谢建国", year=2023)
    api = APIClient()
    api.force_authenticate(auditor)
    body = api.get("/api/v1/exchange/warnings/", {"q": wanted.person.id_number[-6:]}).json()
    results = body["results"] if isinstance(body, dict) else body
    assert [w["id"] for w in results] == [wanted.pk]
    refused = api.get("/api/v1/exchange/warnings/", {"kind": "nope"})
    assert refused.status_code == 400 and refused.json()["field"] == "kind"


