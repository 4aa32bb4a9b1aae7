"""The whole way through the pages, as the bureau works: a caseworker registers the person, enters
the claims and opens the case; a reviewer passes it, an approver approves it, a payment officer
batches it, downloads the bank file and records the bank's answer — four different people."""
from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.identity_numbers import compose
from cases.models import Application, ApplicationState, PaymentBatch, Person
from tests.cases.test_web_case import slip_cells

pytestmark = pytest.mark.django_db


def test_the_happy_path_through_the_ui(client, team, django_capture_on_commit_callbacks):
    def as_(user):
        client.force_login(user)
        return client

    def post(user, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            response = as_(user).post(url, data)
        assert response.status_code == 302, (url, response.status_code, response.content.decode()[:3000])
        return response["Location"]

    # 1. The caseworker registers the person (sex and birth date from the number) …
    number = compose("360731", datetime.date(1975, 8, 15), 242)
    location = post(team.caseworker, reverse("cases:person_new"), {
        "id_number": number, "name": "钟秀英", "region_code": "360731", "residence": "rural", "scheme": "resident",
        "bank_name": "农村商业银行", "bank_account": "6217000011112222"})
    person = Person.objects.get(id_number=number)
    assert location == reverse("cases:person", args=[person.pk]) and person.sex == "F"
    # … records the 低保 identity on evidence …
    post(team.caseworker, reverse("cases:identity_add", args=[person.pk]), {
        "identity-category": "dibao", "identity-start": "2020-06-01", "identity-reference": "于民〔2020〕6号",
        "identity-method": "evidence"})
    # … which a second reviewer confirms (an identity entered by bureau staff counts only then) …
    entry = person.identity_entries.get()
    assert entry.status == "pending" and not person.identities.exists()
    body = as_(team.reviewer).get(reverse("cases:identity_entries")).content.decode()
    assert person.name in body
    post(team.reviewer, reverse("cases:identity_entry_decide", args=[entry.pk]), {"decision": "confirm", "next": "queue"})
    assert person.identities.get().category == "dibao"
    # … enters two claims of 2023 …
    for setl_id, day, kind, total, scope, basic, critical, maf in (
            ("GZ02", "2023-04-02", "inpatient", "26000.00", "23000.00", "15000.00", "1500.00", "2000.00"),
            ("GZ03", "2023-09-15", "outpatient_chronic", "6000.00", "5600.00", "3000.00", "0.00", "0.00")):
        post(team.caseworker, reverse("cases:claim_new", args=[person.pk]), {
            "setl_id": setl_id, "date": day, "kind": kind, "hospital_name": "于都县人民医院", "hospital_level": "2",
            "location": "county", "referral_compliant": "on", "total": total, "policy_scope": scope,
            "basic_paid": basic, "critical_paid": critical, "maf_pay": maf})
    claims = list(person.claims.order_by("date"))
    assert [c.setl_id for c in claims] == ["GZ02", "GZ03"]
    # … and opens the case with both claims, paid to the person.
    location = post(team.caseworker, reverse("cases:application_new", args=[person.pk]), {
        "year": "2023", "claim_ids": [c.pk for c in claims], "payee_type": "person"})
    app = Application.objects.get(person=person)
    assert location == reverse("cases:case", args=[app.pk])
    body = as_(team.caseworker).get(location).content.decode()
    assert 'class="calculating"' not in body and "4,825.00" in body  # settled once the request committed
    post(team.caseworker, reverse("cases:case_act", args=[app.pk]), {"action": "submit", "expected_state": "draft"})

    # 2. The reviewer finds it in the queue by masked number, starts the review and passes it.
    body = as_(team.reviewer).get(reverse("cases:queue"), {"queue": "to_review", "q": person.masked_id_number}).content.decode()
    assert app.number in body
    post(team.reviewer, reverse("cases:case_act", args=[app.pk]), {"action": "start_review", "expected_state": "submitted"})
    post(team.reviewer, reverse("cases:case_act", args=[app.pk]),
         {"action": "pass", "expected_state": "in_review", "comment": "材料齐全"})

    # 3. The approver approves; the reviewer could not have (four eyes, by a different user here).
    body = as_(team.approver).get(reverse("cases:queue"), {"queue": "to_approve"}).content.decode()
    assert app.number in body
    post(team.approver, reverse("cases:case_act", args=[app.pk]), {"action": "approve", "expected_state": "reviewed"})
    app.refresh_from_db()
    assert app.state == ApplicationState.APPROVED and app.amount_approved == Decimal("4825.00")

    # The slip shows the stored (engine's) numbers.
    body = as_(team.approver).get(reverse("cases:slip", args=[app.pk])).content.decode()
    cells = slip_cells(body)
    for line in app.approved_settlement.lines.filter(in_application=True):
        assert cells[(str(line.claim_id), "assistance")] == line.assistance
        assert cells[(str(line.claim_id), "out_of_pocket")] == line.out_of_pocket
    assert cells[("total", "assistance")] == app.approved_settlement.assistance

    # 4. The payment officer builds the batch (once, even when the form is sent twice) …
    body = as_(team.payment).get(reverse("cases:payments")).content.decode()
    assert app.number in body
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', body).group(1)
    data = {"region": "360700", "application_ids": [app.pk], "request_key": key, "mode": "selected"}
    first = post(team.payment, reverse("cases:payments"), data)
    assert post(team.payment, reverse("cases:payments"), data) == first
    batch = PaymentBatch.objects.get()
    # … downloads the bank file …
    response = as_(team.payment).get(reverse("cases:batch_export", args=[batch.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][2] == app.number and Decimal(rows[1][8]) == Decimal("4825.00") and rows[1][7] == "6217000011112222"
    # … and records the bank's answer, confirming it.
    line = batch.lines.get()
    post(team.payment, reverse("cases:batch_results", args=[batch.pk]),
         {f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "B2023000123", "confirmed": "1"})
    app.refresh_from_db()
    assert app.state == ApplicationState.PAID

    # The timeline tells the whole story, each step by its own person.
    events = list(app.events.order_by("id").values_list("action", "actor__username"))
    assert events == [("submit", team.caseworker.username), ("start_review", team.reviewer.username),
                      ("pass", team.reviewer.username), ("approve", team.approver.username),
                      ("batch", team.payment.username), ("bank_ok", team.payment.username)]
    body = as_(team.auditor).get(reverse("cases:case", args=[app.pk])).content.decode()
    assert "已支付" in body and "B2023000123" in body and "材料齐全" in body
    assert "本案件当前没有需要您办理的事项" in body
