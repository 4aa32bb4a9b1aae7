"""The bank's return file (回盘文件): checked on receipt, applied by the worker in chunks."""
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cases.models import BankReturn
from cases.services import bank_returns, payments, workflow
from cases.services.errors import NotPermitted
from tests.cases.factories import batched_adjustment, make_case, sent_to_bank
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HEADER = ["明细号", "批次号", "收款人", "账号", "金额", "结果", "银行流水号", "失败原因"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def row(line, result="成功", reference=None, reason="", **over):
    values = {"明细号": line.pk, "批次号": line.batch.number, "收款人": line.payee_name, "账号": line.payee_account,
              "金额": f"{line.amount}", "结果": result,
              "银行流水号": (f"B{line.pk:08d}" if result in ("成功", "paid") else "") if reference is None else reference,
              "失败原因": reason}
    values.update(over)
    return [str(values[h]) for h in HEADER]


def csv_file(rows, *, encoding="utf-8", header=HEADER) -> io.BytesIO:
    text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    return io.BytesIO(text.encode(encoding))


def receive(user, batch, fileobj, name="return.csv", apply=True):
    """Receive the file, then do the worker's part: check its rows, and (``apply``) record them."""
    br = bank_returns.receive_bank_return(acting_user=user, batch_id=batch.pk, fileobj=fileobj, filename=name)
    created = br.created
    if apply:
        bank_returns.apply_bank_return(bank_return_id=br.pk)
    else:
        bank_returns.check_file(br.pk)
    br.refresh_from_db()
    br.created = created
    return br


def two_lines(team):
    a, b = make_case(team, "approved"), make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    return a, b, batch, batch.lines.get(application=a), batch.lines.get(application=b)


def test_a_good_file_pays_and_fails_lines_and_closes_the_batch(team, django_capture_on_commit_callbacks):
    a, b, batch, la, lb = two_lines(team)
    with django_capture_on_commit_callbacks(execute=True):  # the job runs (eagerly) after commit
        br = bank_returns.receive_bank_return(
            acting_user=team.payment2, batch_id=batch.pk, filename="回盘.csv",
            fileobj=csv_file([row(la), row(lb, "失败", reason="账户已销户")], encoding="utf-8-sig"))
    br.refresh_from_db()
    assert br.created and br.status == "done" and br.finished_at is not None
    assert (br.rows_total, br.lines_paid, br.lines_failed, br.lines_already_recorded, br.rows_rejected) == (2, 1, 1, 0, 0)
    assert br.file.read().startswith(b"\xef\xbb\xbf") and len(br.sha256) == 64
    a.refresh_from_db(), b.refresh_from_db(), batch.refresh_from_db(), la.refresh_from_db()
    assert (a.state, b.state, batch.status) == ("paid", "approved", "closed")
    assert (la.status, la.bank_reference, la.result_by_id) == ("paid", f"B{la.pk:08d}", team.payment2.pk)
    assert b.current_batch_id is None and b.events.last().comment == "账户已销户"
    assert a.events.filter(action="bank_ok", actor=team.payment2).count() == 1


def test_adjustments_are_settled(team):
    _app, adj, batch, line = batched_adjustment(team)
    br = receive(team.payment, batch, csv_file([row(line)]))
    adj.refresh_from_db(), batch.refresh_from_db()
    assert (br.lines_paid, adj.status, batch.status) == (1, "settled", "closed")
    assert adj.settled_at is not None and adj.current_batch_id is None


def test_mismatched_amount_and_account_are_rejected_naming_the_column(team):
    a, b, batch, la, lb = two_lines(team)
    c = make_case(team, "approved")
    batch2 = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch2)
    lc = batch2.lines.get(application=c)
    br = receive(team.payment, batch, csv_file([
        row(la, 金额="9000.01"), row(lb, 账号="6217000099999999"), row(lc), row(la, 结果="待定"),
        ["abc", "", "", "", "", "成功", "X", ""],
    ]))
    errors = {e["row"]: e for e in br.errors}
    assert br.rows_rejected == 5 and br.rows_valid == 0 and br.status == "done"
    assert errors[2]["field"] == "金额" and "9000.01" in errors[2]["reason"] and str(la.amount) in errors[2]["reason"]
    assert errors[3]["field"] == "账号" and "6217000099999999" in errors[3]["reason"]
    assert errors[4]["field"] == "明细号" and batch.number in errors[4]["reason"]
    assert errors[5]["field"] == "明细号"  # the line appears twice: the first (rejected) row counts
    assert errors[6]["field"] == "明细号"
    a.refresh_from_db(), batch.refresh_from_db()
    assert (a.state, batch.status) == ("in_payment", "open")


def test_result_needs_reference_or_reason(team):
    a, b, batch, la, lb = two_lines(team)
    br = receive(team.payment, batch, csv_file([row(la, reference=""), row(lb, "失败", reason="")]))
    assert [(e["row"], e["field"]) for e in br.errors] == [(2, "银行流水号"), (3, "失败原因")]


def test_gbk_file_with_the_export_headers(team):
    a, b, batch, la, lb = two_lines(team)
    header = ["序号", "批次号", "收款人", "银行账号", "金额（元）", "结果", "银行流水号", "失败原因"]
    br = receive(team.payment, batch, csv_file([row(la), row(lb, "失败", reason="户名不符")], encoding="gbk",
                                               header=header), name="HUIPAN.CSV")
    assert (br.file_format, br.lines_paid, br.lines_failed, br.rows_rejected) == ("csv", 1, 1, 0)


def test_english_column_names(team):
    a, b, batch, la, lb = two_lines(team)
    header = ["Line", "Batch", "Payee", "Account", "Amount (yuan)", "outcome", "bank_reference", "reason"]
    br = receive(team.payment, batch, csv_file([row(la, "paid"), row(lb, "failed", reason="closed")], header=header))
    assert (br.lines_paid, br.lines_failed, br.rows_rejected) == (1, 1, 0), br.errors


def test_xlsx_file(team):
    from openpyxl import Workbook

    a, b, batch, la, lb = two_lines(team)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([la.pk, batch.number, la.payee_name, la.payee_account, float(la.amount), "成功", "X1", None])
    sheet.append([lb.pk, batch.number, lb.payee_name, lb.payee_account, float(lb.amount), "失败", None, "余额不足"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    br = receive(team.payment, batch, out, name="回盘.xlsx")
    batch.refresh_from_db()
    assert (br.file_format, br.lines_paid, br.lines_failed, batch.status) == ("xlsx", 1, 1, "closed"), br.errors


def test_an_unreadable_file_fails_in_the_worker_saying_why(team):
    """The request only stores the file; the worker reads its header and encoding and fails the
    return file with a message naming the problem (shown on the batch page); nothing is recorded."""
    a, b, batch, la, lb = two_lines(team)
    lacking = receive(team.payment, batch, csv_file([row(la)], header=["明细号", "结果"]))
    assert lacking.status == "failed" and "账号" in lacking.failure and "金额" in lacking.failure, lacking.failure
    garbage = receive(team.payment, batch, io.BytesIO(b"\xff\xfe\x00\x81\x00garbage" * 10))
    assert garbage.status == "failed" and "UTF-8" in garbage.failure and "GBK" in garbage.failure, garbage.failure
    assert (lacking.lines_paid, garbage.lines_paid) == (0, 0)
    assert not a.events.filter(action="bank_ok").exists()
    # an empty file or an old .xls is still refused in the request, and nothing is stored
    for content, name in ((b"", "return.csv"), (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "return.xls")):
        with pytest.raises(ValidationError):
            receive(team.payment, batch, io.BytesIO(content), name=name)
    assert BankReturn.objects.count() == 2


def test_the_same_file_twice_is_received_once(team):
    a, b, batch, la, lb = two_lines(team)
    content = csv_file([row(la)]).getvalue()
    first = receive(team.payment, batch, io.BytesIO(content))
    second = receive(team.payment, batch, io.BytesIO(content))
    assert first.pk == second.pk and not second.created and BankReturn.objects.count() == 1
    assert a.events.filter(action="bank_ok").count() == 1
    # a second file with the line again and the other one: the paid line is already recorded
    third = receive(team.payment, batch, csv_file([row(la), row(lb)]))
    assert (third.lines_paid, third.lines_already_recorded, third.rows_rejected) == (1, 1, 0)
    # running the job again changes nothing
    bank_returns.apply_bank_return(bank_return_id=third.pk)
    third.refresh_from_db()
    assert (third.lines_paid, third.lines_already_recorded) == (1, 1)
    assert a.events.filter(action="bank_ok").count() == 1


def test_a_different_result_for_a_paid_line_is_a_rejected_row_not_a_crash(team):
    a, b, batch, la, lb = two_lines(team)
    receive(team.payment, batch, csv_file([row(la)]))
    br = receive(team.payment, batch, csv_file([row(la, "失败", reason="账户冻结"), row(lb)]))
    assert br.status == "done" and (br.lines_paid, br.rows_rejected) == (1, 1)
    assert br.errors[0]["row"] == 2 and f"B{la.pk:08d}" in br.errors[0]["reason"]
    la.refresh_from_db(), a.refresh_from_db()
    assert (la.status, a.state) == ("paid", "paid")


def test_a_resumed_job_carries_on_after_the_last_chunk(team, monkeypatch):
    monkeypatch.setattr(bank_returns, "CHUNK_SIZE", 1)
    a, b, batch, la, lb = two_lines(team)
    br = receive(team.payment, batch, csv_file([row(la), row(lb)]), apply=False)
    # as if a worker died after the first chunk: one line recorded, cursor at 1, still processing
    BankReturn.objects.filter(pk=br.pk).update(status="processing")
    bank_returns._apply_chunk(br.pk, br.valid_rows, team.payment)
    bank_returns.apply_bank_return(bank_return_id=br.pk)
    br.refresh_from_db()
    assert (br.status, br.rows_done, br.lines_paid, br.lines_already_recorded) == ("done", 2, 2, 0)
    assert a.events.filter(action="bank_ok").count() == 1 and b.events.filter(action="bank_ok").count() == 1


def test_other_regions_officer_and_other_roles_are_refused(team, cz_team):
    a, b, batch, la, lb = two_lines(team)
    for user in (cz_team.payment, team.auditor, team.approver):
        with pytest.raises(NotPermitted):
            receive(user, batch, csv_file([row(la)]))
    assert not BankReturn.objects.exists()


def test_four_eyes_the_approver_does_not_record_the_payment(team):
    both = make_user("approver", "payment_officer", region="360700")
    app = make_case(team, "reviewed")
    workflow.transition(acting_user=both, application_id=app.pk, action="approve")
    other = make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    mine, theirs = batch.lines.get(application=app), batch.lines.get(application=other)
    br = receive(both, batch, csv_file([row(mine), row(theirs)]))
    assert (br.lines_paid, br.rows_rejected) == (1, 1)
    assert (br.errors[0]["row"], br.errors[0]["field"]) == (2, "明细号")
    app.refresh_from_db()
    assert app.state == "in_payment"


def test_four_eyes_is_checked_again_when_applied(team, monkeypatch):
    """A row that passed the checks but meets a refusal when applied is a rejected row."""
    a, b, batch, la, lb = two_lines(team)
    br = receive(team.payment, batch, csv_file([row(la), row(lb)]), apply=False)
    type(a).objects.filter(pk=a.pk).update(approved_by=team.payment)
    bank_returns.apply_bank_return(bank_return_id=br.pk)
    br.refresh_from_db()
    assert br.status == "done" and (br.lines_paid, br.rows_rejected) == (1, 1)
    assert br.errors == [{"row": 2, "field": "结果", "reason": br.errors[0]["reason"]}]


def test_amounts_compare_as_numbers(team):
    a, b, batch, la, lb = two_lines(team)
    br = receive(team.payment, batch, csv_file([row(la, 金额=f"{la.amount:,.1f}".replace(",", "，")),
                                                row(lb, 金额=format(Decimal(lb.amount).normalize(), "f"))]))
    assert br.lines_paid == 2, br.errors


def test_the_batch_page_uploads_a_return_file_and_shows_it(client, team, django_capture_on_commit_callbacks):
    a, b, batch, la, lb = two_lines(team)
    client.force_login(team.payment2)
    page = client.get(f"/cases/payments/batches/{batch.pk}/")
    assert page.status_code == 200 and 'name="file"' in page.content.decode()
    upload = csv_file([row(la), row(lb, 金额="1.00")]).getvalue()
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/cases/payments/batches/{batch.pk}/bank-returns/",
                               {"file": SimpleUploadedFile("回盘.csv", upload, content_type="text/csv")})
    assert response.status_code == 302
    br = BankReturn.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert f'id="bank-return-{br.pk}"' in page and "回盘.csv" in page and "金额" in page
    status = client.get(f"/cases/payments/bank-returns/{br.pk}/")
    assert status.status_code == 200 and "hx-trigger" not in status.content.decode()  # done: no more polling
    with django_capture_on_commit_callbacks(execute=True):
        bad = client.post(f"/cases/payments/batches/{batch.pk}/bank-returns/",
                          {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")})
    assert bad.status_code == 302  # stored; the worker finds no return-file header, and the page says so
    failed = BankReturn.objects.exclude(pk=br.pk).get()
    page = client.get(bad["Location"]).content.decode()
    assert failed.status == "failed" and f'id="bank-return-{failed.pk}"' in page and "明细号" in page
    client.force_login(make_user("payment_officer", region="130900"))
    assert client.get(f"/cases/payments/bank-returns/{br.pk}/").status_code == 404


def test_the_api_receives_and_shows_a_return_file(team, cz_team, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    a, b, batch, la, lb = two_lines(team)
    api = APIClient()
    api.force_authenticate(team.payment2)
    content = csv_file([row(la), row(lb, "失败", reason="余额不足")]).getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/",
                         {"file": io.BytesIO(content)}, format="multipart")
    assert first.status_code == 201, first.content
    again = api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/", {"file": io.BytesIO(content)},
                     format="multipart")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and not again.json()["created"]
    shown = api.get(f"/api/v1/bank-returns/{first.json()['id']}/").json()
    assert (shown["status"], shown["lines_paid"], shown["lines_failed"]) == ("done", 1, 1)
    assert len(api.get(f"/api/v1/payment-batches/{batch.pk}/bank-returns/").json()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        bad = api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/", {"file": io.BytesIO(b"x,y\n1,2\n")},
                       format="multipart")
    assert bad.status_code == 201  # stored; the worker fails it, naming the missing columns
    shown = api.get(f"/api/v1/bank-returns/{bad.json()['id']}/").json()
    assert shown["status"] == "failed" and "明细号" in shown["failure"], shown
    empty = api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/", {"file": io.BytesIO(b"")},
                     format="multipart")
    assert empty.status_code == 400 and "file" in empty.json()["fields"]
    api.force_authenticate(cz_team.payment)
    assert api.get(f"/api/v1/bank-returns/{first.json()['id']}/").status_code == 404
    assert api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/", {"file": io.BytesIO(content)},
                    format="multipart").status_code == 404
    api.force_authenticate(team.auditor)
    assert api.get(f"/api/v1/bank-returns/{first.json()['id']}/").status_code == 200
    assert api.post(f"/api/v1/payment-batches/{batch.pk}/bank-returns/", {"file": io.BytesIO(content)},
                    format="multipart").status_code == 403
