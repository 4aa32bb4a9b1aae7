"""The exchange pages: menus per role, the push's progress and its rejected rows (masked on screen,
formula-safe in downloads), scoping between departments and regions (dashboards and budgets:
tests/cases/reporting/; contribution standards: tests/cases/enrolment/)."""
import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.exchange.helpers import civil_liaison, csv_bytes, new_number, rural_liaison
from tests.exchange.oncommit import run_on_commit
from tests.factories import make_user

pytestmark = pytest.mark.django_db
D = datetime.date


def upload(client, data, name="list.csv", region="360702"):
    with run_on_commit():
        return client.post(reverse("exchange:push_new"), {
            "department": "civil_affairs", "region": region, "file": io.BytesIO(data) if False else _file(data, name)})


def _file(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_menus_per_role_and_department(client):
    expectations = [
        (civil_liaison(), ["身份推送", "身份确认待办", "预警处置"], ["资助名单", "数据看板"]),
        (make_user("liaison", region="360700", department="finance"), ["资助名单"], ["身份推送", "预警处置"]),
        (make_user("liaison", region="360700", department="veterans_affairs"), ["身份推送"], ["预警处置"]),
        (make_user("auditor", region="360700"), ["数据看板", "预警监测"], ["身份推送"]),
    ]
    for user, shown, hidden in expectations:
        client.force_login(user)
        body = client.get(reverse("home")).content.decode()
        for label in shown:
            assert label in body, (user, label)
        for label in hidden:
            assert label not in body, (user, label)


def test_upload_shows_progress_then_results_with_masked_ids_and_safe_downloads(client):
    client.force_login(civil_liaison())
    good, bad = new_number(), new_number()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    data = csv_bytes([[good, "张三", "低保对象", "新增", "2023-05-01", "赣民〔2023〕1号", ""],
                      [bad, "=HYPERLINK(\"http://x\")", "低保对象", "新增", "2023-05-01", "文", ""]])
    response = upload(client, data)
    assert response.status_code == 302
    detail = client.get(response["Location"])
    body = detail.content.decode()
    assert "1 行被拒" in body or "被拒" in body
    assert bad not in body and bad[:4] + "**********" + bad[-4:] in body  # masked on screen
    assert "校验码" in body  # the reason, in Chinese
    push = detail.context["push"]
    status = client.get(reverse("exchange:push_status", args=[push.pk]), HTTP_HX_REQUEST="true")
    assert status["HX-Refresh"] == "true"
    csv_answer = client.get(reverse("exchange:push_rejected", args=[push.pk, "csv"]))
    assert csv_answer.streaming  # streamed, never built whole in memory
    csv_body = b"".join(csv_answer.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_body and "\n3," in csv_body.replace("\r\n", "\n")
    xlsx_answer = client.get(reverse("exchange:push_rejected", args=[push.pk, "xlsx"]))
    wb = load_workbook(io.BytesIO(b"".join(xlsx_answer.streaming_content)))
    cells = [c.value for c in list(wb.active.iter_rows())[1]]
    assert cells[0] == 3 and cells[2].startswith("'=") and "校验码" in cells[-1]
    # The same file again: recognised, not applied twice.
    again = upload(client, data)
    assert again["Location"] == response["Location"]


def test_a_push_in_progress_polls_its_status(client):
    from cases.exchange.models import IdentityPush

    liaison = civil_liaison()
    client.force_login(liaison)
    from cases.exchange.services.pushes import receive_file

    push, _ = receive_file(acting_user=liaison, department="civil_affairs", region_code="360702",
                           fileobj=io.BytesIO(csv_bytes([])), filename="empty.csv")  # not run: no commit here
    IdentityPush.objects.filter(pk=push.pk).update(status="processing", phase="reading", progress=42)
    body = client.get(reverse("exchange:push_detail", args=[push.pk])).content.decode()
    assert f'hx-get="{reverse("exchange:push_status", args=[push.pk])}"' in body and "42" in body
    assert "htmx" in body  # the script is served locally (django-htmx)


def test_other_departments_and_regions_do_not_see_a_push(client):
    liaison = civil_liaison()
    client.force_login(liaison)
    response = upload(client, csv_bytes([[new_number(), "张三", "低保", "新增", "2023-05-01", "文", ""]]))
    url = response["Location"]
    for other in (rural_liaison(), civil_liaison("130900")):
        client.force_login(other)
        assert client.get(url).status_code == 404
    client.force_login(make_user("auditor", region="360700"))
    assert client.get(url).status_code == 200


def test_upload_errors_are_shown_next_to_the_file_field(client):
    client.force_login(civil_liaison())
    response = upload(client, b"\xd0\xcf\x11\xe0" + b"\0" * 100, name="list.xls")
    assert response.status_code == 200
    assert ".xls" in response.context["form"].errors["file"][0]


def test_a_header_without_required_columns_is_shown_on_the_push_page_once_the_worker_read_it(client):
    client.force_login(civil_liaison())
    response = upload(client, csv_bytes([["1"]], header=["身份证号码"]))
    assert response.status_code == 302  # stored at once, read by the worker
    page = client.get(response["Location"]).content.decode()
    assert "类别" in page and "alert-error" in page


def test_malformed_numbers_of_rejected_rows_are_masked_too(client):
    from rest_framework.test import APIClient

    liaison = civil_liaison()
    client.force_login(liaison)
    short, long_ = new_number()[:17], new_number() + "7"
    data = csv_bytes([[short, "张三", "低保对象", "新增", "2023-05-01", "文1", ""],
                      [long_, "李四", "低保对象", "新增", "2023-05-01", "文2", ""]])
    detail = client.get(upload(client, data)["Location"])
    body = detail.content.decode()
    assert short not in body and long_ not in body
    assert short[:4] + "*" * 9 + short[-4:] in body and long_[:4] + "*" * 11 + long_[-4:] in body
    api = APIClient()
    api.force_authenticate(liaison)
    push = detail.context["push"]
    answer = api.get(f"/api/v1/exchange/pushes/{push.pk}/rejected/")
    rows = answer.content.decode()
    assert answer.status_code == 200 and short[:4] in rows
    assert short not in rows and long_ not in rows


def test_the_push_summary_counts_and_words_what_each_row_did(client):
    """An identity added is counted as added (not "已生效 0 行"); an exit as a change of one on record;
    a row repeating what is on record as changing nothing; a bad row as rejected."""
    client.force_login(civil_liaison())
    first, second = new_number(), new_number()
    response = upload(client, csv_bytes([[first, "张三", "低保对象", "新增", "2023-05-01", "赣民〔2023〕1号", "360702"],
                                         [second, "李四", "低保对象", "新增", "2023-05-01", "赣民〔2023〕1号", "360702"]]))
    body = client.get(response["Location"]).content.decode()
    assert "共 2 行：新增身份 2 行，变更已有身份 0 行，无变化（已在册）0 行，被拒 0 行。" in body
    bad = new_number()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    response = upload(client, csv_bytes([[first, "张三", "低保对象", "退出", "2023-09-30", "赣民〔2023〕2号", ""],
                                         [second, "李四", "低保对象", "新增", "2023-05-01", "赣民〔2023〕2号", ""],
                                         [bad, "王五", "低保对象", "新增", "2023-05-01", "赣民〔2023〕2号", "360702"]]),
                      name="list2.csv")
    body = client.get(response["Location"]).content.decode()
    assert "共 3 行：新增身份 0 行，变更已有身份 1 行，无变化（已在册）1 行，被拒 1 行。" in body
    listing = client.get(reverse("exchange:push_list")).content.decode()
    assert "已生效" not in listing and "<th class=\"num\">新增</th>" in listing
