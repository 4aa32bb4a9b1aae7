"""Payments through the pages: the cases and adjustments to pay, building a batch (a double
submit makes one batch), the bank file, the bank's results per line, four eyes shown clearly."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import (
    Adjustment,
    AdjustmentKind,
    AdjustmentStatus,
    ApplicationState,
    PaymentBatch,
    PaymentLine,
)
from tests.cases.factories import approve_adjustment, make_case
from tests.web import page, post

pytestmark = pytest.mark.django_db




def request_key(body: str) -> str:
    return re.search(r'name="request_key" value="([0-9a-f]+)"', body).group(1)


def adjustment_for(app, amount="300.00", *, team=None):
    """A 补发 of ``app``; with ``team`` also passed by its reviewer and approved by its approver."""
    adj = Adjustment.objects.create(application=app, settlement=app.approved_settlement, kind=AdjustmentKind.SUPPLEMENTARY,
                                    amount=Decimal(amount), basis_hash=f"test-{app.pk}-{amount}", reason="身份补录")
    if team is not None:
        approve_adjustment(team, adj)
    return adj


def test_the_page_lists_approved_cases_and_pending_adjustments(client, team):
    approved = make_case(team, "approved")
    paid = make_case(team, "paid")
    adj = adjustment_for(paid, team=team)
    response, body = page(client, team.payment, reverse("cases:payments"))
    assert response.status_code == 200
    assert approved.number in body and f'name="application_ids" value="{approved.pk}"' in body
    assert f'name="adjustment_ids" value="{adj.pk}"' in body and "补发" in body and "身份补录" in body
    assert approved.person.masked_id_number in body and approved.person.id_number not in body
    assert request_key(body)


def test_build_a_batch_from_the_ticked_cases_and_a_double_submit_makes_one(client, team):
    a1, a2 = make_case(team, "approved"), make_case(team, "approved")
    _, body = page(client, team.payment, reverse("cases:payments"))
    data = {"region": "360700", "application_ids": [a1.pk], "note": "三月", "request_key": request_key(body), "mode": "selected"}
    first, _ = post(client, team.payment, reverse("cases:payments"), data)
    second, _ = post(client, team.payment, reverse("cases:payments"), data)  # double click / resent form
    assert PaymentBatch.objects.count() == 1
    batch = PaymentBatch.objects.get()
    assert first["Location"] == second["Location"] == reverse("cases:batch", args=[batch.pk])
    assert list(batch.lines.values_list("application_id", flat=True)) == [a1.pk] and batch.note == "三月"
    a1.refresh_from_db(), a2.refresh_from_db()
    assert a1.state == ApplicationState.IN_PAYMENT and a2.state == ApplicationState.APPROVED


def test_build_a_batch_from_everything_in_the_region(client, team):
    a1, a2 = make_case(team, "approved"), make_case(team, "approved")
    adj = adjustment_for(make_case(team, "paid"), team=team)
    _, body = page(client, team.payment, reverse("cases:payments"))
    response, _ = post(client, team.payment, reverse("cases:payments"),
                       {"region": "360700", "request_key": request_key(body), "mode": "all"}, follow=True)
    batch = PaymentBatch.objects.latest("id")
    assert {line.application_id for line in batch.lines.all()} == {a1.pk, a2.pk, adj.application_id}
    assert "支付批次" in response.content.decode()


def test_nothing_ticked_is_explained(client, team):
    make_case(team, "approved")
    _, body = page(client, team.payment, reverse("cases:payments"))
    response, body = post(client, team.payment, reverse("cases:payments"),
                          {"region": "360700", "request_key": request_key(body), "mode": "selected"})
    assert response.status_code == 400 and "请勾选要支付的案件" in body and not PaymentBatch.objects.exists()


def test_four_eyes_the_approver_cannot_batch_their_own_case(client, team):
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    app = make_case(team, "approved")
    RoleAssignment.objects.create(user=team.approver, role="payment_officer", region_id="360700",
                                  department_id="medical_security")
    forget_grants(team.approver)
    _, body = page(client, team.approver, reverse("cases:payments"))
    assert f'name="application_ids" value="{app.pk}"' not in body and "不相容岗位" in body
    response, body = post(client, team.approver, reverse("cases:payments"), {
        "region": "360700", "application_ids": [app.pk], "request_key": request_key(body), "mode": "selected"})
    assert response.status_code == 400 and "须由其他支付经办人" in body
    assert not PaymentBatch.objects.exists()


def test_export_the_bank_file_in_csv_and_excel(client, team):
    app = make_case(team, "in_payment")
    batch = PaymentBatch.objects.get()
    _, body = page(client, team.payment, reverse("cases:batch", args=[batch.pk]))
    assert reverse("cases:batch_export", args=[batch.pk, "csv"]) in body
    assert reverse("cases:batch_export", args=[batch.pk, "xlsx"]) in body
    response = client.get(reverse("cases:batch_export", args=[batch.pk, "csv"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # What the bank checks: full name, full identity number, account.
    assert rows[1][2] == app.number and rows[1][5] == app.person.id_number and rows[1][7] == app.approved_payee_account
    assert Decimal(rows[1][8]) == app.amount_approved
    xlsx = client.get(reverse("cases:batch_export", args=[batch.pk, "xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    batch.refresh_from_db()
    assert batch.exported_at is not None
    assert batch.deliveries.filter(delivered_by=team.payment).count() == 3  # the factory's and these two
    assert client.get(reverse("cases:batch_export", args=[batch.pk, "pdf"])).status_code == 404
    # approvers and auditors read batches, not the bank file
    for user in (team.approver, team.auditor):
        client.force_login(user)
        assert client.get(reverse("cases:batch_export", args=[batch.pk, "csv"])).status_code == 403
        assert reverse("cases:batch_export", args=[batch.pk, "csv"]) not in client.get(
            reverse("cases:batch", args=[batch.pk])).content.decode()


def test_record_paid_and_failed_results(client, team):
    a1, a2 = make_case(team, "approved"), make_case(team, "approved")
    _, body = page(client, team.payment, reverse("cases:payments"))
    post(client, team.payment, reverse("cases:payments"),
         {"region": "360700", "request_key": request_key(body), "mode": "all"})
    batch = PaymentBatch.objects.get()
    l1, l2 = batch.lines.get(application=a1), batch.lines.get(application=a2)
    results = {f"outcome-{l1.pk}": "paid", f"reference-{l1.pk}": "B20230001",
               f"outcome-{l2.pk}": "failed", f"reason-{l2.pk}": "账户已销户"}
    # Before the bank file was exported nothing is recorded.
    response, body = post(client, team.payment2, reverse("cases:batch_results", args=[batch.pk]), results)
    assert response.status_code == 409 and "先导出银行文件" in body
    client.get(reverse("cases:batch_export", args=[batch.pk, "csv"]))
    # Recording asks for confirmation first, listing what will be recorded …
    response, body = post(client, team.payment2, reverse("cases:batch_results", args=[batch.pk]), results)
    assert response.status_code == 200 and 'name="confirmed" value="1"' in body and "B20230001" in body
    assert PaymentLine.objects.filter(status="pending").count() == 2
    # … and records on the confirmation.
    response, body = post(client, team.payment2, reverse("cases:batch_results", args=[batch.pk]),
                          {**results, "confirmed": "1"}, follow=True)
    assert response.status_code == 200 and "1 笔已支付，1 笔失败" in body
    a1.refresh_from_db(), a2.refresh_from_db(), batch.refresh_from_db()
    assert a1.state == ApplicationState.PAID and a2.state == ApplicationState.APPROVED
    assert batch.status == "closed"
    assert "B20230001" in body and "账户已销户" in body


def test_result_errors_are_listed_and_what_was_typed_kept(client, team):
    make_case(team, "in_payment")
    batch = PaymentBatch.objects.get()
    line = batch.lines.get()
    response, body = post(client, team.payment, reverse("cases:batch_results", args=[batch.pk]), {
        f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "", f"reason-{line.pk}": "备注"})
    assert response.status_code == 400 and "银行" in body and "未登记任何结果" in body
    assert 'value="备注"' in body and '<option value="paid" selected>' in body
    response, body = post(client, team.payment, reverse("cases:batch_results", args=[batch.pk]), {})
    assert response.status_code == 400 and "请至少为一笔选择" in body
    line.refresh_from_db()
    assert line.status == "pending"


def test_four_eyes_on_results_is_shown(client, team):
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    app = make_case(team, "in_payment")
    batch = PaymentBatch.objects.get()
    line = batch.lines.get()
    RoleAssignment.objects.create(user=team.approver, role="payment_officer", region_id="360700",
                                  department_id="medical_security")
    forget_grants(team.approver)
    response, body = post(client, team.approver, reverse("cases:batch_results", args=[batch.pk]), {
        f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "B1"})
    assert response.status_code == 403 and "须由其他支付经办人" in body
    app.refresh_from_db()
    assert app.state == ApplicationState.IN_PAYMENT


def test_a_result_recorded_twice_differently_is_a_conflict_message(client, team):
    make_case(team, "in_payment")
    batch = PaymentBatch.objects.get()
    line = batch.lines.get()
    post(client, team.payment, reverse("cases:batch_results", args=[batch.pk]),
         {f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "B1", "confirmed": "1"})
    # a stale page (the batch was still open) sends another answer for the same line
    batch.status = "open"
    batch.save(update_fields=["status"])
    response, body = post(client, team.payment2, reverse("cases:batch_results", args=[batch.pk]),
                          {f"outcome-{line.pk}": "failed", f"reason-{line.pk}": "x"})
    assert response.status_code == 409 and "已有结果" in body
    assert PaymentLine.objects.get(pk=line.pk).status == "paid"


def test_adjustments_are_paid_through_a_batch(client, team):
    paid = make_case(team, "paid")
    adj = adjustment_for(paid, team=team)
    _, body = page(client, team.payment, reverse("cases:payments"))
    response, _ = post(client, team.payment, reverse("cases:payments"), {
        "region": "360700", "adjustment_ids": [adj.pk], "request_key": request_key(body), "mode": "selected"})
    batch = PaymentBatch.objects.exclude(lines__adjustment__isnull=True).get()
    line = batch.lines.get()
    assert line.kind == "supplementary" and line.amount == Decimal("300.00")
    client.get(reverse("cases:batch_export", args=[batch.pk, "csv"]))
    post(client, team.payment, reverse("cases:batch_results", args=[batch.pk]),
         {f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "B9", "confirmed": "1"})
    adj.refresh_from_db()
    assert adj.status == AdjustmentStatus.SETTLED
    _, body = page(client, team.auditor, reverse("cases:case", args=[paid.pk]))
    assert "补发" in body and "300.00" in body and "B9" in body


def test_batch_list_and_page(client, team):
    make_case(team, "in_payment")
    batch = PaymentBatch.objects.get()
    for user in (team.payment, team.approver, team.auditor):
        _, body = page(client, user, reverse("cases:batches"))
        assert batch.number in body
        response, body = page(client, user, reverse("cases:batch", args=[batch.pk]))
        assert response.status_code == 200 and ("银行文件（CSV）" in body) == (user == team.payment)
        assert ("登记银行结果" in body) == (user == team.payment)


def test_to_pay_shows_the_account_and_the_previous_failure_of_a_case_paid_again(client, team):
    """Issue 14 item 7: a case being paid again shows its account and why the last payment failed."""
    from cases.services import payments
    from tests.cases.factories import sent_to_bank

    app = make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk])
    sent_to_bank(team, batch)
    line = batch.lines.get()
    payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "failed", "reason": "账户已冻结"}])
    _, body = page(client, team.payment, reverse("cases:payments"))
    row = body[body.index(f'value="{app.pk}"'):]
    row = row[:row.index("</tr>")]
    assert app.approved_payee_account in row and "账户已冻结" in row and batch.number in row
