"""The case and person lists as a clerk uses them (issue 14 item 5): sorting by a column, the
total, previous and next pages, the Excel export of the current filter (masked numbers, recorded),
search by the last digits of the identity number and by part of a name, region scoping in the
export, and bad sort or filter values that never give a 500."""
from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse

from portal.models import ListExport
from tests.cases.factories import make_case, person_with_identity

pytestmark = pytest.mark.django_db


def xlsx_rows(response) -> list[list[str]]:
    from openpyxl import load_workbook

    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def table(body: str) -> str:
    return body[body.index("<tbody>"):body.index("</tbody>")]


def names_in_order(body: str, names) -> list[str]:
    rows = table(body)
    return sorted(names, key=rows.index)


# --- persons ------------------------------------------------------------------------------------------


def test_person_list_sorts_by_name_both_ways_and_ignores_an_unknown_column(client, team):
    people = [person_with_identity(name=n) for n in ("王五", "李四", "张三")]
    client.force_login(team.caseworker)
    url = reverse("cases:persons")
    names = [p.name for p in people]
    up = client.get(url, {"sort": "name"}).content.decode()
    down = client.get(url, {"sort": "-name"}).content.decode()
    assert names_in_order(up, names) == sorted(names)
    assert names_in_order(down, names) == sorted(names, reverse=True)
    assert 'aria-sort="ascending"' in up and 'aria-sort="descending"' in down
    # the header links toggle and keep the filter
    client.post(url, {"q": "四"})
    filtered = client.get(url, {"q": "四", "sort": "name"}).content.decode()
    assert 'href="?q=%E5%9B%9B&amp;sort=-name"' in filtered
    for bad in ("id_number", "password", "-", "name;drop"):
        response = client.get(url, {"sort": bad})
        assert response.status_code == 200, bad  # ignored: the default order (newest first)
        assert names_in_order(response.content.decode(), names) == names[::-1]


def test_person_list_shows_its_total_and_pages_forward_and_back(client, team):
    from portal import lists

    people = [person_with_identity(name=f"翻页{i:02d}") for i in range(7)]
    client.force_login(team.caseworker)
    url = reverse("cases:persons")
    original = lists.PAGE_SIZE
    lists.PAGE_SIZE = 3
    try:
        first = client.get(url, {"sort": "name"}).content.decode()
        assert "共 7 条" in first and 'data-total="7"' in first
        assert 'rel="prev"' not in first
        names = [p.name for p in people]
        shown = [n for n in names if n in table(first)]
        assert shown == names[:3]
        nxt = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
        second = client.get(url + nxt).content.decode()
        assert [n for n in names if n in table(second)] == names[3:6] and "第 2 页" in second
        prev = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
        back = client.get(url + prev).content.decode()
        assert [n for n in names if n in table(back)] == names[:3]
    finally:
        lists.PAGE_SIZE = original


def test_person_search_by_last_digits_and_part_of_a_name(client, team):
    person = person_with_identity(name="欧阳春花")
    other = person_with_identity(name="谢建国")
    client.force_login(team.caseworker)
    url = reverse("cases:persons")
    for q in (person.id_number[-4:], person.id_number[-5:], person.id_number[-6:], "阳春", "欧阳"):
        body = client.get(url, {"q": q}).content.decode()
        link = reverse("cases:person", args=[person.pk])
        assert link in table(body) and reverse("cases:person", args=[other.pk]) not in table(body), q


def test_person_export_has_masked_numbers_follows_the_filter_and_is_recorded(client, team, cz_team):
    wanted = person_with_identity(name="欧阳春花")
    unwanted = person_with_identity(name="谢建国")
    elsewhere = person_with_identity(region="130903", name="欧阳秋月")  # 沧州: outside the team's regions
    client.force_login(team.caseworker)
    rows = xlsx_rows(client.get(reverse("cases:persons_export"), {"q": "欧阳", "sort": "-name"}))
    assert rows[0][:2] == ["姓名", "身份证号码"]
    assert [r[0] for r in rows[1:]] == ["欧阳春花"]
    assert rows[1][1] == wanted.masked_id_number and wanted.id_number not in str(rows)
    assert unwanted.name not in str(rows) and elsewhere.name not in str(rows)  # region scoping holds
    record = ListExport.objects.get()
    assert record.user == team.caseworker and record.list_name == "persons" and record.rows == 1
    assert record.filters == {"q": "欧阳", "sort": "-name"}


def test_person_list_bad_filter_values_are_refused_in_chinese_never_a_500(client, team):
    person_with_identity(name="张三")
    client.force_login(team.caseworker)
    url = reverse("cases:persons")
    for params in ({"region": "abc"}, {"region": "36070"}, {"q": "x" * 200}, {"page": "-1"},
                   {"page": "9" * 40}, {"after": "abc"}, {"before": "1e9"}, {"sort": "-" * 50}):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (params, response.status_code)
        if response.status_code == 400 and response["Content-Type"].startswith("text/html"):
            assert "alert-error" in response.content.decode(), params
    body = client.get(url, {"region": "36070"}).content.decode()
    assert "行政区划" in body and "六位数字" in body


# --- cases --------------------------------------------------------------------------------------------


def test_case_list_sorts_counts_exports_and_records(client, team, cz_team):
    a = make_case(team, "submitted", person=person_with_identity(name="甲某某"))
    b = make_case(team, "submitted", person=person_with_identity(name="乙某某"))
    c = make_case(team, "submitted", person=person_with_identity(name="丙某某"))
    make_case(cz_team, "submitted", person=person_with_identity(region="130903", name="丁某某"))  # other region
    client.force_login(team.auditor)
    url = reverse("cases:queue")
    numbers = [a.number, b.number, c.number]
    by_number = client.get(url, {"sort": "number"}).content.decode()
    by_number_down = client.get(url, {"sort": "-number"}).content.decode()
    assert names_in_order(by_number, numbers) == sorted(numbers)
    assert names_in_order(by_number_down, numbers) == sorted(numbers, reverse=True)
    by_person = client.get(url, {"sort": "person"}).content.decode()
    assert names_in_order(by_person, numbers) == [c.number, b.number, a.number]  # 丙 < 乙 < 甲 (code points)
    assert 'data-total="3"' in by_number and "共 3 件" in by_number
    rows = xlsx_rows(client.get(reverse("cases:queue_export"), {"sort": "-number", "state": "submitted"}))
    assert [r[0] for r in rows[1:]] == sorted(numbers, reverse=True)  # the page's sort, the scoped cases
    assert all(r[2].count("*") == 10 for r in rows[1:])
    assert not any(x.person.id_number in str(rows) for x in (a, b, c))
    assert "丁某某" not in str(rows)
    record = ListExport.objects.get()
    assert record.list_name == "cases" and record.rows == 3
    assert record.filters == {"state": "submitted", "sort": "-number"}


def test_case_export_of_a_queue_keeps_the_queue_and_search(client, team):
    wanted = make_case(team, "submitted", person=person_with_identity(name="欧阳春花"))
    make_case(team, "submitted", person=person_with_identity(name="谢建国"))
    make_case(team, "draft", person=person_with_identity(name="欧阳秋月"))
    client.force_login(team.reviewer)
    body = client.get(reverse("cases:queue"), {"queue": "to_review", "q": wanted.person.id_number[-5:]}).content.decode()
    href = re.search(r'data-export href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "queue=to_review" in href
    rows = xlsx_rows(client.get(href))
    assert [r[0] for r in rows[1:]] == [wanted.number]
    record = ListExport.objects.get()
    assert record.list_name == "cases_to_review"
    assert record.filters == {"queue": "to_review", "q": wanted.person.id_number[-5:]}


def test_case_list_bad_values_never_give_a_500(client, team):
    make_case(team, "submitted")
    client.force_login(team.auditor)
    url = reverse("cases:queue")
    for params in ({"state": "nonsense"}, {"year": "1e3"}, {"year": "99999"}, {"region": "x"}, {"person": "-1"},
                   {"sort": "created_by__password"}, {"page": "abc"}, {"queue": "nope"}):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (params, response.status_code)
    body = client.get(url, {"year": "99999"}).content.decode()
    assert "年度" in body and "alert-error" in body
    export = client.get(reverse("cases:queue_export"), {"year": "abc"})
    assert export.status_code == 302 and not ListExport.objects.exists()  # an invalid filter exports nothing


# --- payment lines ------------------------------------------------------------------------------------


def test_payment_lines_sort_search_export_and_scope(client, team, cz_team):
    from cases.services import payments

    a = make_case(team, "approved", person=person_with_identity(name="甲某某"))
    b = make_case(team, "approved", person=person_with_identity(name="乙某某"))
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[a.pk, b.pk])
    far = make_case(cz_team, "approved", person=person_with_identity(region="130903", name="丁某某"))
    payments.create_batch(acting_user=cz_team.payment, region_code="130900", application_ids=[far.pk])
    client.force_login(team.payment)
    url = reverse("cases:payment_lines")
    numbers = [a.number, b.number]
    up = client.get(url, {"sort": "person"}).content.decode()  # 乙 < 甲 by code point
    assert names_in_order(up, numbers) == [b.number, a.number]
    down = client.get(url, {"sort": "-person"}).content.decode()
    assert names_in_order(down, numbers) == [a.number, b.number]
    assert 'data-total="2"' in up and far.number not in up and batch.number in up
    found = client.get(url, {"q": a.person.id_number[-6:]}).content.decode()
    assert a.number in table(found) and b.number not in table(found)
    assert b.number in table(client.get(url, {"q": "乙某"}).content.decode())
    rows = xlsx_rows(client.get(reverse("cases:payment_lines_export"), {"sort": "person", "status": "pending"}))
    assert [r[2] for r in rows[1:]] == ["乙某某", "甲某某"]
    assert rows[1][3] == b.person.masked_id_number and b.person.id_number not in str(rows)
    assert "丁某某" not in str(rows)
    record = ListExport.objects.get()
    assert record.list_name == "payment_lines" and record.rows == 2
    assert record.filters == {"status": "pending", "sort": "person"}
    for params in ({"status": "x"}, {"kind": "x"}, {"year": "abc"}, {"region": "1"}, {"sort": "payee_account"}):
        assert client.get(url, params).status_code in (200, 400), params
    assert "alert-error" in client.get(url, {"status": "x"}).content.decode()
