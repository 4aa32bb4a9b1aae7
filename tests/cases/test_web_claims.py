"""Claims and applications through the pages: the entry form (errors naming the field, values
kept), corrections, the import page (mapping, row report, CSV download), opening and editing a
case."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Application, ApplicationState, Claim, ClaimImport
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.cases.test_import import csv_bytes, row, xlsx_bytes

pytestmark = pytest.mark.django_db

CLAIM = {"date": "2023-05-01", "kind": "inpatient", "hospital_name": "于都县人民医院", "hospital_level": "2",
         "location": "county", "referral_compliant": "on", "total": "26000.00", "policy_scope": "23000.00",
         "basic_paid": "15000.00", "critical_paid": "1500.00", "maf_pay": "0", "setl_id": "W-0001"}


def post(client, user, url, data, **kwargs):
    client.force_login(user)
    response = client.post(url, data, **kwargs)
    return response, response.content.decode()


def field_block(body: str, name: str) -> str:
    start = body.index(f'for="id_{name}"')
    end = body.find('<div class="form-row', start)
    return body[start:end if end > 0 else None]


def test_enter_a_claim(client, team):
    person = person_with_identity()
    response, _ = post(client, team.caseworker, reverse("cases:claim_new", args=[person.pk]), CLAIM)
    claim = Claim.objects.get(setl_id="W-0001")
    assert response.status_code == 302 and response["Location"].endswith("#claims")
    assert (claim.person, claim.total, claim.basic_paid, claim.hospital_level, claim.source) == (
        person, Decimal("26000.00"), Decimal("15000.00"), 2, "manual")


def test_claim_errors_name_the_field_and_keep_the_values(client, team):
    person = person_with_identity()
    data = dict(CLAIM, total="1000", policy_scope="1200.555", basic_paid="abc", date="2099-01-01")
    response, body = post(client, team.caseworker, reverse("cases:claim_new", args=[person.pk]), data)
    assert response.status_code == 400 and not Claim.objects.exists()
    assert "未保存" in body
    assert "政策范围内费用（P）" in field_block(body, "policy_scope") and "两位" in field_block(body, "policy_scope")
    assert "基本医保支付（B）" in field_block(body, "basic_paid") and "abc" in field_block(body, "basic_paid")
    assert "结算日期" in field_block(body, "date") and "2099-01-01" in field_block(body, "date")
    assert 'value="1200.555"' in body and 'value="于都县人民医院"' in body


def test_scope_over_total_is_named(client, team):
    person = person_with_identity()
    response, body = post(client, team.caseworker, reverse("cases:claim_new", args=[person.pk]),
                          dict(CLAIM, total="1000.00", policy_scope="1200.00", basic_paid="", critical_paid=""))
    assert response.status_code == 400
    assert "医疗费总额（T）" in field_block(body, "policy_scope")


def test_a_claim_entered_for_a_case_joins_it(client, team, django_capture_on_commit_callbacks):
    app = make_case(team, "draft")
    url = reverse("cases:claim_new", args=[app.person_id]) + f"?application={app.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = post(client, team.caseworker, url, dict(CLAIM, application=app.pk))
    assert response.status_code == 302 and response["Location"] == reverse("cases:case", args=[app.pk])
    assert app.claim_links.filter(claim__setl_id="W-0001").exists()


def test_correct_and_void_a_claim(client, team):
    person = person_with_identity()
    claim = ClaimFactory(person=person)
    url = reverse("cases:claim_edit", args=[claim.pk])
    client.force_login(team.caseworker)
    body = client.get(url).content.decode()
    assert 'value="52000.00"' in body and 'value="2023-03-10"' in body
    response, _ = post(client, team.caseworker, url, dict(CLAIM, date="2023-03-10", total="52000.00",
                                                          policy_scope="47000.00", setl_id=claim.setl_id))
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.policy_scope == Decimal("47000.00")
    response, _ = post(client, team.caseworker, reverse("cases:claim_void", args=[claim.pk]), {"reason": "录入错误"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.void_reason == "录入错误" and claim.voided_at is not None


def test_a_claim_under_review_cannot_be_corrected_and_says_why(client, team):
    app = make_case(team, "in_review")
    claim = app.claim_links.get().claim
    response, body = post(client, team.caseworker, reverse("cases:claim_edit", args=[claim.pk]),
                          dict(CLAIM, date="2023-03-10", setl_id=claim.setl_id))
    assert response.status_code == 400 and app.number in body
    response = client.post(reverse("cases:claim_void", args=[claim.pk]), {"reason": "重复"}, follow=True)
    assert response.status_code == 200 and app.number in response.content.decode()
    claim.refresh_from_db()
    assert claim.voided_at is None


# --- Import ---------------------------------------------------------------------------------------


def upload(content: bytes, name: str = "setlinfo.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post_import(client, user, data):
    """Send the import form; the worker's task runs on commit (eager), as after a real request."""
    from tests.exchange.oncommit import run_on_commit

    with run_on_commit():
        return post(client, user, reverse("cases:claim_import"), data)


def test_the_import_page_documents_the_mapping(client, team):
    client.force_login(team.caseworker)
    body = client.get(reverse("cases:claim_import")).content.decode()
    for column in ("setl_id", "certno", "med_type", "medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "maf_pay"):
        assert f"<code>{column}</code>" in body, column
    for label in ("结算ID", "证件号码", "医疗类别", "符合政策范围金额"):
        assert label in body
    template = client.get(reverse("cases:claim_import_template"))
    assert template.status_code == 200 and b"setl_id" in template.content


def test_import_good_and_bad_rows_with_the_row_report(client, team):
    person = person_with_identity()
    stranger = person_with_identity(region="130903")  # 沧州: reported like an unregistered person
    content = csv_bytes([
        row(person, "S1"),
        row(person, "S2", med_type="99"),
        row(person, "S3", inscp_scp_amt="60000.00"),
        row(stranger, "S4"),
        row(person, "S5", setl_time="2023-06-01 08:00:00"),
    ], encoding="gbk")
    response, _ = post_import(client, team.caseworker, {"file": upload(content)})
    assert response.status_code == 302
    report_url = response["Location"]
    client.force_login(team.caseworker)
    body = client.get(report_url).content.decode()
    assert 'data-count="created">2<' in body and 'data-count="rejected">3<' in body
    assert "导入报告" in body and "被拒的行" in body
    assert "医疗类别" in body and "99" in body  # the column by its Chinese label (the code beside it, muted)
    # S3: P above T names both columns by their labels, not inscp_scp_amt / medfee_sumamt
    assert "符合政策范围金额" in body and "inscp_scp_amt:" not in body and "medfee_sumamt" not in body.split("<tbody>")[-1]
    assert stranger.id_number not in body and person.id_number not in body
    assert set(Claim.objects.values_list("setl_id", flat=True)) == {"S1", "S5"}
    csv_response = client.get(report_url + "report.csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.streaming  # never one answer built in memory
    rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["行", "列", "文件中的值", "原因"]
    assert sorted(int(r[0]) for r in rows[1:]) == [3, 4, 5]
    assert {r[1] for r in rows[1:]} >= {"医疗类别", "证件号码"}  # the columns by their Chinese labels


def test_reimport_counts_unchanged_and_updated(client, team):
    person = person_with_identity()
    first = csv_bytes([row(person, "R1"), row(person, "R2")])
    post_import(client, team.caseworker, {"file": upload(first)})
    again = csv_bytes([row(person, "R1"), row(person, "R2", medfee_sumamt="53000.00")])
    response, _ = post_import(client, team.caseworker, {"file": upload(again)})
    body = client.get(response["Location"]).content.decode()
    assert 'data-count="unchanged">1<' in body and 'data-count="updated">1<' in body and 'data-count="created">0<' in body
    assert "所有行均已读取" in body


def test_an_excel_file_is_read_too(client, team):
    person = person_with_identity()
    content = xlsx_bytes([row(person, "X1")])
    response, _ = post_import(client, team.caseworker, {"file": SimpleUploadedFile("setlinfo.xlsx", content)})
    assert response.status_code == 302 and Claim.objects.filter(setl_id="X1").exists()


def test_an_unreadable_file_fails_on_its_report_saying_why(client, team):
    """The request stores the file; the worker finds no settlement columns and the import's report
    says which are missing. No file, or an empty one, is refused next to the field."""
    response, _ = post_import(client, team.caseworker, {"file": upload(b"a,b\n1,2\n")})
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    assert 'data-status="failed"' in body and "setl_id" in body and not Claim.objects.exists()
    response, body = post_import(client, team.caseworker, {})
    assert response.status_code == 400
    response, body = post_import(client, team.caseworker, {"file": upload(b"")})
    assert response.status_code == 400 and "errorlist" in body


def test_the_same_file_twice_shows_the_first_import_and_again_imports_it_once_more(client, team):
    """A double click (or the file sent again) answers with the first import; ticking “import it
    again” imports it once more (e.g. after registering the persons it lacked)."""
    person = person_with_identity()
    content = csv_bytes([row(person, "D1")])
    first, _ = post_import(client, team.caseworker, {"file": upload(content)})
    second, _ = post_import(client, team.caseworker, {"file": upload(content)})
    assert second.status_code == 302 and second["Location"] == first["Location"]
    body = client.get(second["Location"]).content.decode()
    assert "导入过" in body  # “you imported this file before …”, with the first import's report
    assert ClaimImport.objects.count() == 1 and Claim.objects.filter(setl_id="D1").count() == 1
    third, _ = post_import(client, team.caseworker, {"file": upload(content), "again": "on"})
    assert third["Location"] != first["Location"] and ClaimImport.objects.count() == 2
    again = ClaimImport.objects.order_by("-pk").first()
    assert (again.attempt, again.rows_unchanged, again.rows_created) == (2, 1, 0)


def test_the_report_shows_the_progress_until_the_worker_is_done(client, team):
    """Received but not yet imported: the report polls (htmx, no inline script) and shows no counts."""
    person = person_with_identity()
    response, _ = post(client, team.caseworker, reverse("cases:claim_import"),
                       {"file": upload(csv_bytes([row(person, "P1")]))})  # the task not run (no commit)
    record = ClaimImport.objects.get()
    assert record.status == "pending" and not Claim.objects.exists()
    body = client.get(response["Location"]).content.decode()
    assert f'hx-get="{reverse("cases:claim_import_status", args=[record.pk])}"' in body
    assert 'data-count="created"' not in body and "<script>" not in body
    status = client.get(reverse("cases:claim_import_status", args=[record.pk]), HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "HX-Refresh" not in status
    from cases.imports.national import process_claim_import

    process_claim_import(import_id=record.pk)
    status = client.get(reverse("cases:claim_import_status", args=[record.pk]), HTTP_HX_REQUEST="true")
    assert status["HX-Refresh"] == "true" and "hx-trigger" not in status.content.decode()
    assert 'data-count="created">1<' in client.get(response["Location"]).content.decode()


def test_the_rejected_rows_are_paged_and_downloaded_whole(client, team):
    person = person_with_identity()
    content = csv_bytes([row(person, f"B{i}", med_type="99") for i in range(130)])
    response, _ = post_import(client, team.caseworker, {"file": upload(content)})
    first = client.get(response["Location"]).content.decode()
    assert first.count('<td class="num">') == 100 and "?page=2" in first
    second = client.get(response["Location"] + "?page=2").content.decode()
    assert second.count('<td class="num">') == 30
    download = client.get(response["Location"] + "report.xlsx")
    assert download.status_code == 200 and download.streaming
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) == 131


def test_someone_elses_import_report_is_not_found(client, team, cz_team):
    person = person_with_identity()
    response, _ = post_import(client, team.caseworker, {"file": upload(csv_bytes([row(person, "Q1")]))})
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    for user in (make_other(team), cz_team.caseworker):
        client.force_login(user)
        assert client.get(reverse("cases:claim_import_report", args=[pk])).status_code == 404
        assert client.get(reverse("cases:claim_import_report_csv", args=[pk])).status_code == 404


def make_other(team):
    from tests.factories import make_user

    return make_user("caseworker", region=team.region)


# --- Applications -----------------------------------------------------------------------------------------


def test_open_a_case_with_claims_tilted_payee_and_agent(client, team, django_capture_on_commit_callbacks):
    person = person_with_identity()
    c1, c2 = ClaimFactory(person=person), ClaimFactory(person=person)
    url = reverse("cases:application_new", args=[person.pk])
    client.force_login(team.caseworker)
    body = client.get(url).content.decode()
    assert "2023 年度结算记录" in body and f'value="{c1.pk}"' in body and f'value="{c2.pk}"' in body
    assert person.bank_account in body  # the person's account is offered as payee
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = post(client, team.caseworker, url, {
            "year": "2023", "claim_ids": [c1.pk], "tilted_applied": "on", "payee_type": "hospital",
            "payee_name": "赣州市人民医院", "payee_bank": "工商银行", "payee_account": "1234567890123",
            "agent_name": "王五", "agent_relation": "儿子", "agent_phone": "13900000000", "note": "代办"})
    app = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases:case", args=[app.pk])
    assert list(app.claim_links.values_list("claim_id", flat=True)) == [c1.pk]
    assert (app.tilted_applied, app.payee_type, app.payee_account, app.agent_name, app.state) == (
        True, "hospital", "1234567890123", "王五", ApplicationState.DRAFT)
    assert app.settlements.exists()  # settled once the request committed


def test_case_form_errors_are_shown(client, team):
    person = person_with_identity()
    url = reverse("cases:application_new", args=[person.pk])
    response, body = post(client, team.caseworker, url, {"year": "2023", "payee_type": "hospital",
                                                          "payee_account": "abc"})
    assert response.status_code == 400 and "银行账号应为8至32位数字" in body
    response, body = post(client, team.caseworker, url, {"year": "2099", "payee_type": "person"})
    assert response.status_code == 400 and not Application.objects.exists()


def test_edit_a_draft_attach_and_detach_claims(client, team, django_capture_on_commit_callbacks):
    app = make_case(team, "draft")
    old = app.claim_links.get().claim
    new = ClaimFactory(person=app.person)
    url = reverse("cases:application_edit", args=[app.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = post(client, team.caseworker, url, {"claim_ids": [new.pk], "payee_type": "person", "note": "改"})
    assert response.status_code == 302
    assert list(app.claim_links.values_list("claim_id", flat=True)) == [new.pk]
    app.refresh_from_db()
    assert app.note == "改" and old.application_links.count() == 0


def test_a_case_under_review_cannot_be_edited(client, team):
    app = make_case(team, "in_review")
    client.force_login(team.caseworker)
    response = client.get(reverse("cases:application_edit", args=[app.pk]), follow=True)
    assert "只有草稿或退回补正的案件可以修改" in response.content.decode()
    assert client.get(reverse("cases:application_edit", args=[app.pk])).status_code == 302


def test_a_claim_of_another_year_for_a_case_is_refused_and_not_saved(client, team):
    app = make_case(team, "draft")  # a case of 2023
    url = reverse("cases:claim_new", args=[app.person_id]) + f"?application={app.pk}"
    response, body = post(client, team.caseworker, url, dict(CLAIM, date="2022-05-01", application=app.pk))
    assert response.status_code == 400 and "2023" in body and 'value="2022-05-01"' in body
    assert not Claim.objects.filter(setl_id="W-0001").exists()
