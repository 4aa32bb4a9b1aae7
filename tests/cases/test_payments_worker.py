"""Issue 13's payee and 补发 rules end to end, on PostgreSQL with a real Celery worker: the
reproduction of findings 1 and 2 (a caseworker redirects the account through the API; a caseworker's
特困 entry, confirmed by a second reviewer, makes the worker's recalculation create a 补发) now ends
with the 补发 reviewed and approved by two other people and paid to the payee frozen at approval."""
import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Adjustment, BankAccountChange, PaymentBatch
from cases.services import adjustments, payments
from cases.services.errors import Conflict, NotPermitted
from tests.cases.factories import add_statistics, make_case, make_team

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OLD, NEW = "6217000012345678", "6217999988887777"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _wait_for_adjustment(app, worker, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        adj = Adjustment.objects.filter(application=app).first()
        if adj is not None:
            return adj
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
    pytest.fail(f"the worker made no adjustment within {seconds} s")


def test_redirected_account_and_unreviewed_supplement_are_stopped(worker, settings, client):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    add_statistics()
    team = make_team("360700", prefix="pw")
    app = make_case(team, "paid")
    assert app.approved_payee_account == OLD

    # Finding 1: the caseworker points the person's account at their own.
    answer = api(team.caseworker).patch(f"/api/v1/persons/{app.person_id}/",
                                        {"bank_account": NEW, "account_holder": "经办人自己"}, format="json")
    assert answer.status_code == 200, answer.content
    change = BankAccountChange.objects.filter(person_id=app.person_id).latest("id")
    assert (change.changed_by, change.old_bank_account, change.new_bank_account) == (team.caseworker, OLD, NEW)

    # Finding 2: the caseworker enters 特困 through the API; a second reviewer confirms it; the
    # worker recalculates the paid case and makes a 补发.
    entry = api(team.caseworker).post("/api/v1/identities/", {
        "person_id": app.person_id, "category": "tekun", "start": "2023-01-01", "method": "evidence"}, format="json")
    assert entry.status_code == 202, entry.content
    confirmed = api(team.reviewer2).post(f"/api/v1/identity-entries/{entry.json()['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    adj = _wait_for_adjustment(app, worker)
    assert adj.kind == "supplementary" and adj.amount > 0

    # Not batched before review and approval, through the service or the page.
    with pytest.raises(Conflict):
        payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    client.force_login(team.payment)
    body = client.get(reverse("cases:payments")).content.decode()
    assert f'name="adjustment_ids" value="{adj.pk}"' not in body
    # The reviewer who confirmed the identity does not review its 补发.
    with pytest.raises(NotPermitted):
        adjustments.review(acting_user=team.reviewer2, adjustment_id=adj.pk, passed=True)

    # The reviewer sees the amount, the amount approved and the reason, and passes it; the approver too.
    client.force_login(team.reviewer)
    page = client.get(reverse("cases:payment_reviews")).content.decode()
    row = page[page.index(f'id="supplement-{adj.pk}"'):]
    row = row[:row.index("</tr>")]
    assert f"{adj.amount:,.2f}" in row and f"{app.amount_approved:,.2f}" in row and "特困人员" in row
    assert client.post(reverse("cases:payment_reviews"), {"item": "supplement", "id": adj.pk, "decision": "pass",
                                                          "amount": str(adj.amount)}).status_code == 302
    client.force_login(team.approver)
    assert client.post(reverse("cases:payment_reviews"), {"item": "supplement", "id": adj.pk, "decision": "pass",
                                                          "amount": str(adj.amount)}).status_code == 302

    # Now the officer pays it — to the payee frozen at approval, not the redirected account.
    batch = payments.create_batch(acting_user=team.payment, region_code="360700", adjustment_ids=[adj.pk])
    line = batch.lines.get()
    assert (line.adjustment_id, line.amount, line.payee_account, line.payee_name) == (adj.pk, adj.amount, OLD, "户主")
    assert PaymentBatch.objects.count() == 2  # the case's own payment and this one: nothing else swept in
