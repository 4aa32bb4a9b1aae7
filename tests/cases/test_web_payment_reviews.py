"""The pages of issue 13's payee and 补发 rules: the reviewer and the approver see the amount, the
amount approved and the reason of a 补发, old → new of a payee change, and decide; the caseworker asks
for a payee change; auditors read the bank-account changes on the person page."""
import re

import pytest
from django.urls import reverse

from cases.models import Adjustment, Identity, PayeeChange
from cases.services import persons, settlement
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db


def as_(client, user):
    client.force_login(user)
    return client


def test_a_supplement_is_reviewed_and_approved_on_the_page_with_amount_and_reason(client, team):
    app = make_case(team, "paid")
    Identity.objects.filter(person=app.person).update(category="tekun")
    settlement.recalculate_person_year(person_id=app.person_id, year=2023, reason="push:7")
    adj = Adjustment.objects.get(application=app)
    url = reverse("cases:payment_reviews")
    body = as_(client, team.reviewer).get(url).content.decode()
    row = body[body.index(f'id="supplement-{adj.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "3,000.00" in row and "9,000.00" in row  # the 补发 and the amount approved
    assert "push:7" not in row and "7" in row and "特困人员" in row
    response = client.post(url, {"item": "supplement", "id": adj.pk, "decision": "reject", "amount": "3000.00"})
    assert response.status_code == 400 and "驳回须说明理由" in response.content.decode()
    assert client.post(url, {"item": "supplement", "id": adj.pk, "decision": "pass", "amount": "3000.00"}).status_code == 302
    # The reviewer cannot approve it too (no role); the approver can.
    as_(client, team.approver)
    assert client.post(url, {"item": "supplement", "id": adj.pk, "decision": "pass", "amount": "3000.00"}).status_code == 302
    assert [r.step for r in adj.reviews.order_by("id")] == ["review", "approve"]
    # Now the payment officer can pay it.
    body = as_(client, team.payment).get(reverse("cases:payments")).content.decode()
    assert f'name="adjustment_ids" value="{adj.pk}"' in body


def test_the_caseworker_asks_for_a_payee_change_shown_old_to_new(client, team):
    app = make_case(team, "approved")
    persons.update_person(acting_user=team.caseworker, person_id=app.person_id, bank_account="6217999988887777")
    url = reverse("cases:case_payee", args=[app.pk])
    body = as_(client, team.caseworker).get(url).content.decode()
    assert "6217000012345678" in body and "6217999988887777" in body  # approved payee and the new account, side by side
    assert client.post(url, {"payee_type": "person", "reason": ""}).status_code == 400
    assert client.post(url, {"payee_type": "person", "reason": "原卡挂失"}).status_code == 302
    change = PayeeChange.objects.get()
    body = as_(client, team.reviewer).get(reverse("cases:payment_reviews")).content.decode()
    row = body[body.index(f'id="payee-change-{change.pk}"'):]
    assert row.index("6217000012345678") < row.index("6217999988887777")  # old → new
    # The case page shows the frozen payee, not the new account.
    case_body = client.get(reverse("cases:case", args=[app.pk])).content.decode()
    assert re.search(r"6217000012345678\s*<span class=\"badge\">", case_body)


def test_auditors_read_the_bank_account_changes_on_the_person_page(client, team):
    app = make_case(team, "approved")
    persons.update_person(acting_user=team.caseworker, person_id=app.person_id, bank_account="6217999988887777",
                          account_holder="经办人自己")
    body = as_(client, team.auditor).get(reverse("cases:person", args=[app.person_id])).content.decode()
    section = body[body.index('id="bank-account-changes"'):]
    assert "6217000012345678" in section and "6217999988887777" in section and "经办人自己" in section
    assert team.caseworker.username in section or (team.caseworker.display_name or "") in section
    body = as_(client, team.civil).get(reverse("cases:person", args=[app.person_id])).content.decode()
    assert 'id="bank-account-changes"' not in body  # a liaison does not read them
