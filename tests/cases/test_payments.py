"""Payment batches: building, the bank file, results, and that nothing is ever paid twice."""
import csv
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from cases.models import Application, BankFileDelivery, IdNumberView, PaymentBatch, PaymentLine
from cases.services import payments, workflow
from cases.services.errors import Conflict, NotFound, NotPermitted
from tests.cases.factories import batched_adjustment, make_case, person_with_identity, sent_to_bank
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_batch_takes_the_approved_cases_of_the_region(team, cz_team):
    a = make_case(team, "approved")
    b = make_case(team, "approved")
    make_case(team, "reviewed")
    cz = make_case(cz_team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    assert set(batch.lines.values_list("application_id", flat=True)) == {a.pk, b.pk}
    assert batch.total_amount == Decimal("18000.00") and batch.line_count == 2
    a.refresh_from_db()
    assert (a.state, a.current_batch_id) == ("in_payment", batch.pk)
    assert a.events.last().action == "batch"
    line = batch.lines.get(application=a)
    assert (line.payee_name, line.payee_account, line.payee_type) == ("户主", "6217000012345678", "person")
    cz.refresh_from_db()
    assert cz.state == "approved"
    with pytest.raises(Conflict):
        payments.create_batch(acting_user=team.payment, region_code="360700")  # nothing left


def test_hospital_payee(team):
    app = make_case(team, "approved", payee_type="hospital", payee_name="赣州市人民医院", payee_bank="工商银行",
                    payee_account="1234567890123")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk])
    line = batch.lines.get()
    assert (line.payee_type, line.payee_name, line.payee_account) == ("hospital", "赣州市人民医院", "1234567890123")


def test_explicit_cases_that_cannot_be_taken_are_named(team, cz_team):
    a = make_case(team, "approved")
    draft = make_case(team, "draft")
    cz = make_case(cz_team, "approved")
    with pytest.raises(Conflict) as err:
        payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[a.pk, draft.pk, cz.pk])
    assert draft.number in str(err.value) and str(cz.pk) in str(err.value) and cz.number not in str(err.value)
    assert not PaymentBatch.objects.exists()
    a.refresh_from_db()
    assert a.state == "approved"


def test_only_payment_officers_of_the_region(team, cz_team):
    make_case(team, "approved")
    with pytest.raises(NotPermitted):
        payments.create_batch(acting_user=cz_team.payment, region_code="360700")
    with pytest.raises(NotPermitted):
        payments.create_batch(acting_user=team.approver, region_code="360700")


def test_four_eyes_the_approver_does_not_pay(team):
    both = make_user("approver", "payment_officer", region="360700")
    app = make_case(team, "reviewed")
    workflow.transition(acting_user=both, application_id=app.pk, action="approve")
    with pytest.raises(workflow.FourEyesViolation):
        payments.create_batch(acting_user=both, region_code="360700", application_ids=[app.pk])
    other = make_case(team, "approved")
    batch = payments.create_batch(acting_user=both, region_code="360700")  # takes the others, lists the skipped
    assert list(batch.lines.values_list("application_id", flat=True)) == [other.pk]
    assert batch.skipped and app.number in batch.skipped[0][0]


def test_results_paid_and_failed(team):
    a, b = make_case(team, "approved"), make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    la, lb = batch.lines.get(application=a), batch.lines.get(application=b)
    payments.record_results(acting_user=team.payment2, batch_id=batch.pk, results=[
        {"line_id": la.pk, "outcome": "paid", "bank_reference": "BANK-1"},
        {"line_id": lb.pk, "outcome": "failed", "reason": "账户已销户"},
    ])
    a.refresh_from_db(), b.refresh_from_db(), batch.refresh_from_db()
    assert (a.state, b.state, batch.status) == ("paid", "approved", "closed")
    assert b.current_batch_id is None and b.events.last().comment == "账户已销户"
    # the failed case goes into another batch; its failed line is no longer live
    again = payments.create_batch(acting_user=team.payment, region_code="360700")
    assert list(again.lines.values_list("application_id", flat=True)) == [b.pk]


def test_recording_the_same_result_twice_is_harmless_a_different_one_a_conflict(team):
    app = make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    line = batch.lines.get()
    result = [{"line_id": line.pk, "outcome": "paid", "bank_reference": "BANK-9"}]
    payments.record_results(acting_user=team.payment, batch_id=batch.pk, results=result)
    payments.record_results(acting_user=team.payment, batch_id=batch.pk, results=result)
    assert app.events.filter(action="bank_ok").count() == 1
    with pytest.raises(Conflict) as err:
        payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                                results=[{"line_id": line.pk, "outcome": "failed", "reason": "x"}])
    assert "BANK-9" in str(err.value)


def test_results_need_a_reference_or_a_reason(team):
    from django.core.exceptions import ValidationError

    make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    line = batch.lines.get()
    with pytest.raises(ValidationError) as err:
        payments.record_results(acting_user=team.payment, batch_id=batch.pk, results=[
            {"line_id": line.pk, "outcome": "paid"}, {"line_id": line.pk, "outcome": "failed"},
            {"line_id": line.pk, "outcome": "lost"}])
    assert len(err.value.message_dict["results"]) == 3


def test_the_same_request_twice_returns_the_same_batch(team):
    app = make_case(team, "approved")
    first = payments.create_batch(acting_user=team.payment, region_code="360700", request_key="k-1")
    second = payments.create_batch(acting_user=team.payment, region_code="360700", request_key="k-1")
    assert first.pk == second.pk and PaymentBatch.objects.count() == 1
    with pytest.raises(Conflict):
        payments.create_batch(acting_user=team.payment, region_code="360700", application_ids=[app.pk])


def test_the_database_refuses_a_second_live_payment(team):
    app = make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    line = batch.lines.get()
    other = PaymentBatch.objects.create(region_id="360700", created_by=team.payment)
    copy = dict(application=app, kind="regular", amount=line.amount, payee_type="person", payee_name="x", payee_bank="b",
                payee_account="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(batch=other, **copy)
    payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "R"}])
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(batch=other, **copy)  # paid is live too
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=app.pk).update(current_batch=other)  # a batch only while in payment


def test_adjustments_are_paid_as_lines_once(team):
    app, adj, batch, line = batched_adjustment(team)
    assert (line.kind, line.amount, line.adjustment_id) == ("supplementary", Decimal("3000.00"), adj.pk)
    adj.refresh_from_db()
    assert adj.status == "in_payment"
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(batch=batch, application=app, adjustment=adj, kind="supplementary", amount=adj.amount,
                                   payee_type="person", payee_name="x", payee_bank="b", payee_account="1")
    payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "S1"}])
    adj.refresh_from_db()
    assert adj.status == "settled"
    with pytest.raises(Conflict):
        payments.create_batch(acting_user=team.payment, region_code="360700")


def _rows(content: bytes):
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_bank_file_carries_full_name_number_and_account_formula_safe(team):
    """Issue 14 item 7: the bank file carries what banks check (full name, full identity number,
    account); every download is recorded as a delivery and each number as an export view."""
    person = person_with_identity()
    person.account_holder = "=HYPERLINK(\"http://x\")"
    person.bank_name = "@SUM(1)"
    person.save()
    app = make_case(team, "approved", person=person)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    with translation.override("zh-hans"):
        name, content_type, content = payments.export_batch(acting_user=team.payment, batch_id=batch.pk, fmt="csv")
    rows = _rows(content)
    assert name.endswith(".csv") and "text/csv" in content_type
    line = rows[1]
    assert len(rows) == 2
    assert line[4].startswith("'=") and line[6].startswith("'@")
    assert line[5] == person.id_number and line[7] == person.bank_account
    assert line[8] == "9000.00" and line[2] == app.number
    view = IdNumberView.objects.get()
    assert (view.user, view.person_id, view.channel) == (team.payment, person.pk, "export") and batch.number in view.context
    delivery = BankFileDelivery.objects.get()
    assert (delivery.batch, delivery.delivered_by, delivery.file_format, delivery.rows, delivery.total_amount) == (
        batch, team.payment, "csv", 1, Decimal("9000.00"))
    payments.export_batch(acting_user=team.payment, batch_id=batch.pk, fmt="xlsx")
    assert BankFileDelivery.objects.count() == 2  # each download


def test_bank_file_xlsx_only_for_payment_officers(team):
    from openpyxl import load_workbook

    app = make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    for reader in (make_user("approver", region="360700"), team.auditor):  # they read batches, not the bank file
        with pytest.raises(NotPermitted):
            payments.export_batch(acting_user=reader, batch_id=batch.pk, fmt="xlsx")
    name, content_type, content = payments.export_batch(acting_user=team.payment2, batch_id=batch.pk, fmt="xlsx")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][5] == app.person.id_number and float(values[1][8]) == 9000.0


def test_results_only_after_the_bank_file_was_exported(team):
    make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    line = batch.lines.get()
    with pytest.raises(Conflict) as err:
        payments.record_results(acting_user=team.payment2, batch_id=batch.pk,
                                results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "B1"}])
    assert err.value.code == "not_exported"
    sent_to_bank(team, batch)
    payments.record_results(acting_user=team.payment2, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "B1"}])
    batch.refresh_from_db()
    assert batch.status == "closed"


def test_export_is_region_scoped(team, cz_team):
    make_case(team, "approved")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    with pytest.raises(NotPermitted):
        payments.export_batch(acting_user=cz_team.payment, batch_id=batch.pk)
    with pytest.raises(NotFound):
        payments.export_batch(acting_user=team.payment, batch_id=99999)
