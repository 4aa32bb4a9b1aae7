"""Issue 14 item 1: a recovery (追回) is a receivable of the person — never a bank line. It is
deducted from the person's next payments (shown in the batch and on the slip), repaid (date, receipt)
or waived with an approver's approval (four eyes); the case shows paid, owed back and recovered."""
import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cases import selectors
from cases.models import Adjustment, Identity, PaymentLine, RecoveryEntry
from cases.services import payments, recoveries, settlement
from cases.services.errors import Conflict, NotPermitted
from tests.cases.factories import ClaimFactory, make_case, sent_to_bank

pytestmark = pytest.mark.django_db


def _owes(team, amount="1000.00"):
    """A paid case whose recalculation found ``amount`` too much: a recovery of the person."""
    app = make_case(team, "paid")
    adj = Adjustment.objects.create(application=app, settlement=app.approved_settlement, kind="recovery",
                                    amount=-Decimal(amount), basis_hash=f"rec-{app.pk}", reason="push:3")
    return app, adj


def _next_case(team, person):
    return make_case(team, "approved", person=person, claims=[ClaimFactory(person=person, total=Decimal("20000.00"),
                                                                             policy_scope=Decimal("20000.00"),
                                                                             basic_paid=Decimal("10000.00"),
                                                                             critical_paid=Decimal("0.00"))])


def _lines_of_bank_file(team, batch):
    _name, _type, content = payments.export_batch(acting_user=team.payment, batch_id=batch.pk, fmt="csv")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]


def test_a_recovery_is_never_put_into_a_bank_batch(team):
    _app, adj = _owes(team)
    with pytest.raises(Conflict):
        payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    with pytest.raises(Conflict):  # nothing else to pay: the recovery is not a payment
        payments.create_batch(acting_user=team.payment, region_code="360700")
    assert not PaymentLine.objects.filter(adjustment=adj).exists()


def test_a_recovery_is_deducted_from_the_next_payment_shown_in_batch_bank_file_and_slip(team):
    app, adj = _owes(team, "1000.00")
    nxt = _next_case(team, app.person)
    gross = nxt.amount_approved
    assert gross > Decimal("1000.00")
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    line = batch.lines.get()
    assert (line.application_id, line.gross_amount, line.deduction, line.amount) == (
        nxt.pk, gross, Decimal("1000.00"), gross - Decimal("1000.00"))
    assert batch.total_amount == gross - Decimal("1000.00")
    rows = _lines_of_bank_file(team, batch)
    assert [Decimal(r[8]) for r in rows] == [gross - Decimal("1000.00")]  # no negative line, the net amount
    entry = RecoveryEntry.objects.get(adjustment=adj)
    assert (entry.kind, entry.state, entry.amount, entry.payment_line_id) == ("offset", "reserved", Decimal("1000.00"), line.pk)
    slip = selectors.slip_data(team.reviewer, nxt.pk)
    assert [d["amount"] for d in slip["deductions"]] == [Decimal("1000.00")]
    payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "B1"}])
    entry.refresh_from_db()
    assert entry.state == "done" and recoveries.outstanding(adj) == 0
    money = selectors.case_money(team.reviewer, app.pk)
    assert (money["owed"], money["recovered"], money["outstanding"]) == (Decimal("1000.00"), Decimal("1000.00"), 0)


def test_a_failed_payment_gives_the_deduction_back(team):
    app, adj = _owes(team, "1000.00")
    _next_case(team, app.person)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    sent_to_bank(team, batch)
    line = batch.lines.get()
    payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                            results=[{"line_id": line.pk, "outcome": "failed", "reason": "账户冻结"}])
    assert RecoveryEntry.objects.get(adjustment=adj).state == "void"
    assert recoveries.outstanding(adj) == Decimal("1000.00")


def test_a_payment_wholly_offset_transfers_nothing_and_is_not_in_the_bank_file(team):
    app, adj = _owes(team, "50000.00")
    nxt = _next_case(team, app.person)
    batch = payments.create_batch(acting_user=team.payment, region_code="360700")
    line = batch.lines.get()
    assert (line.amount, line.deduction, line.status) == (Decimal("0.00"), nxt.amount_approved, "paid")
    nxt.refresh_from_db()
    assert nxt.state == "paid"
    assert _lines_of_bank_file(team, batch) == []
    assert recoveries.outstanding(adj) == Decimal("50000.00") - nxt.amount_approved


def test_a_repayment_needs_date_and_receipt_and_cannot_exceed_what_is_owed(team):
    _app, adj = _owes(team, "1000.00")
    with pytest.raises(ValidationError) as err:
        recoveries.record_repayment(acting_user=team.payment, adjustment_id=adj.pk, amount="1000.01",
                                    repaid_on="", receipt_number="")
    assert set(err.value.message_dict) == {"amount", "repaid_on", "receipt_number"}
    with pytest.raises(NotPermitted):
        recoveries.record_repayment(acting_user=team.caseworker, adjustment_id=adj.pk, amount="400.00",
                                    repaid_on="2024-05-01", receipt_number="R-1")
    recoveries.record_repayment(acting_user=team.payment, adjustment_id=adj.pk, amount="400.00",
                                repaid_on="2024-05-01", receipt_number="R-1")
    assert recoveries.outstanding(adj) == Decimal("600.00")
    adj.refresh_from_db()
    assert adj.status == "settled"  # booked: a later recalculation no longer replaces it


def test_a_waiver_needs_an_approver_who_did_not_ask(team):
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    _app, adj = _owes(team, "1000.00")
    RoleAssignment.objects.get_or_create(user=team.payment, role="approver", region_id=team.region,
                                         department_id="medical_security")
    forget_grants(team.payment)
    entry = recoveries.request_waiver(acting_user=team.payment, adjustment_id=adj.pk, amount="1000.00",
                                      reason="本人已故，无可追回")
    assert recoveries.outstanding(adj) == 0  # held while the approver decides (not deducted meanwhile)
    with pytest.raises(NotPermitted):
        recoveries.decide_waiver(acting_user=team.payment, entry_id=entry.pk, approved=True)
    recoveries.decide_waiver(acting_user=team.approver, entry_id=entry.pk, approved=False, comment="材料不全")
    assert recoveries.outstanding(adj) == Decimal("1000.00")
    entry = recoveries.request_waiver(acting_user=team.caseworker, adjustment_id=adj.pk, amount="1000.00", reason="死亡")
    recoveries.decide_waiver(acting_user=team.approver, entry_id=entry.pk, approved=True)
    assert recoveries.summary(adj)["waived"] == Decimal("1000.00") and recoveries.outstanding(adj) == 0


def test_the_reason_of_a_real_recovery_is_in_words(team):
    app = make_case(team, "paid")
    Identity.objects.filter(person=app.person).delete()
    settlement.recalculate_person_year(person_id=app.person_id, year=2023, reason="push:4")
    adj = Adjustment.objects.get(application=app)
    assert adj.kind == "recovery" and adj.amount < 0
    text = selectors.recoveries_of(team.payment)[0].reason_text
    assert "push:4" not in text and "4" in text and "低保对象" in text

