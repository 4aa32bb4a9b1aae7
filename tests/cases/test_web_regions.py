"""No region leaks through the pages: a 沧州 user can neither read nor act on a 赣州 person, claim,
case, slip, payment batch, bank file or import report — whatever their role — and lists and searches
never show them."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.models import Application, ApplicationEvent, Claim, ClaimImport, IdNumberView, PaymentBatch, PaymentLine
from cases.services.workflow import TRANSITIONS
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db

OUTSIDERS = ["caseworker", "reviewer", "approver", "payment", "auditor", "civil"]


@pytest.fixture
def ganzhou(team):
    """赣州 data in every shape: cases in several states, a batch, an import."""
    from tests.cases.test_import import csv_bytes, row
    from tests.uploads import import_claims

    cases = {state: make_case(team, state) for state in ("draft", "in_review", "reviewed", "approved", "in_payment")}
    batch = PaymentBatch.objects.get()
    person = cases["draft"].person
    record = import_claims(team.caseworker, csv_bytes([row(person, "GZ-IMP-1")]), "gz.csv")
    # The batch's bank file was exported by 赣州's officer (logged views and a delivery): from here on
    # nothing of 沧州's may add to them.
    IdNumberView.objects.all().delete()
    batch.deliveries.all().delete()
    PaymentBatch.objects.filter(pk=batch.pk).update(exported_at=None)
    return {"cases": cases, "batch": batch, "person": person, "claim": Claim.objects.get(setl_id="GZ-IMP-1"),
            "identity": person.identities.first(), "import": record}


def refused(response) -> bool:
    return response.status_code in (403, 404)


def no_leak(response, *secrets) -> bool:
    body = response.content.decode(errors="replace")
    return not any(secret and secret in body for secret in secrets)


@pytest.mark.parametrize("role", OUTSIDERS)
def test_a_cangzhou_user_cannot_read_ganzhou_pages(client, cz_team, ganzhou, role):
    client.force_login(getattr(cz_team, role))
    person, batch = ganzhou["person"], ganzhou["batch"]
    secrets = (person.name, person.masked_id_number, person.id_number)
    urls = [
        reverse("cases:person", args=[person.pk]), reverse("cases:person_edit", args=[person.pk]),
        reverse("cases:claim_new", args=[person.pk]), reverse("cases:application_new", args=[person.pk]),
        reverse("cases:claim_edit", args=[ganzhou["claim"].pk]),
        reverse("cases:batch", args=[batch.pk]),
        reverse("cases:batch_export", args=[batch.pk, "csv"]), reverse("cases:batch_export", args=[batch.pk, "xlsx"]),
        reverse("cases:claim_import_report", args=[ganzhou["import"].pk]),
        reverse("cases:claim_import_report_csv", args=[ganzhou["import"].pk]),
    ]
    for app in ganzhou["cases"].values():
        urls += [reverse("cases:case", args=[app.pk]), reverse("cases:slip", args=[app.pk]),
                 reverse("cases:case_settlement", args=[app.pk]), reverse("cases:application_edit", args=[app.pk])]
    for url in urls:
        response = client.get(url)
        assert refused(response), (role, url, response.status_code)
        assert no_leak(response, *secrets), (role, url)
    assert not IdNumberView.objects.exists()
    ganzhou["batch"].refresh_from_db()
    assert ganzhou["batch"].exported_at is None


@pytest.mark.parametrize("role", OUTSIDERS)
def test_a_cangzhou_user_cannot_act_on_ganzhou_cases(client, cz_team, ganzhou, role):
    client.force_login(getattr(cz_team, role))
    before = ApplicationEvent.objects.count()
    states = {a.pk: a.state for a in ganzhou["cases"].values()}
    for app in ganzhou["cases"].values():
        for action in TRANSITIONS:
            data = {"action": action, "expected_state": app.state, "comment": "x", f"{action}-comment": "x",
                    "category": "dibao"}
            response = client.post(reverse("cases:case_act", args=[app.pk]), data)
            assert refused(response), (role, app.state, action, response.status_code)
        response = client.post(reverse("cases:application_edit", args=[app.pk]), {"payee_type": "person", "note": "x"})
        assert refused(response)
    assert ApplicationEvent.objects.count() == before
    assert {a.pk: a.state for a in Application.objects.filter(pk__in=states)} == states
    person = ganzhou["person"]
    assert refused(client.post(reverse("cases:person_reveal", args=[person.pk]), {}))
    assert refused(client.post(reverse("cases:person_edit", args=[person.pk]), {"name": "x", "region_code": "130903",
                                                                               "residence": "rural", "scheme": "resident"}))
    assert refused(client.post(reverse("cases:identity_add", args=[person.pk]),
                               {"identity-category": "tekun", "identity-start": "2023-01-01", "identity-method": "evidence"}))
    assert refused(client.post(reverse("cases:identity_close", args=[ganzhou["identity"].pk]),
                               {f"close{ganzhou['identity'].pk}-end": "2023-01-01"}))
    assert refused(client.post(reverse("cases:claim_new", args=[person.pk]), {"date": "2023-01-01", "kind": "inpatient",
                                                                              "total": "1", "policy_scope": "1"}))
    assert refused(client.post(reverse("cases:claim_edit", args=[ganzhou["claim"].pk]), {"total": "1"}))
    assert refused(client.post(reverse("cases:claim_void", args=[ganzhou["claim"].pk]), {"reason": "x"}))
    assert refused(client.post(reverse("cases:application_new", args=[person.pk]), {"year": "2023", "payee_type": "person"}))
    line = ganzhou["batch"].lines.get()
    assert refused(client.post(reverse("cases:batch_results", args=[ganzhou["batch"].pk]),
                               {f"outcome-{line.pk}": "paid", f"reference-{line.pk}": "B1"}))
    assert PaymentLine.objects.get(pk=line.pk).status == "pending"
    assert not IdNumberView.objects.exists() and Claim.objects.filter(pk=ganzhou["claim"].pk).exists()
    assert not person.identities.filter(category="tekun").exists()


def test_a_cangzhou_payment_officer_cannot_batch_a_ganzhou_case(client, cz_team, ganzhou):
    approved = ganzhou["cases"]["approved"]
    client.force_login(cz_team.payment)
    body = client.get(reverse("cases:payments")).content.decode()
    assert approved.number not in body

    key = re.search(r'name="request_key" value="([0-9a-f]+)"', body).group(1)
    for region in ("130900", "360700"):
        response = client.post(reverse("cases:payments"), {"region": region, "application_ids": [approved.pk],
                                                           "request_key": key + region, "mode": "selected"})
        assert response.status_code in (400, 403, 404), region
        assert approved.number not in response.content.decode()
    assert PaymentBatch.objects.count() == 1
    approved.refresh_from_db()
    assert approved.state == "approved"


@pytest.mark.parametrize("role", ["caseworker", "reviewer", "approver", "payment", "auditor"])
def test_lists_and_searches_never_show_ganzhou(client, cz_team, ganzhou, role):
    client.force_login(getattr(cz_team, role))
    person = ganzhou["person"]
    pages = [reverse("cases:queue"), reverse("cases:persons")]
    for queue in ("my_drafts", "to_review", "to_approve", "to_pay"):
        pages.append(reverse("cases:queue") + f"?queue={queue}")
    pages += [reverse("cases:batches"), reverse("cases:payments"), reverse("cases:claim_import")]
    for url in pages:
        for q in ("", person.id_number, person.masked_id_number, person.name, ganzhou["cases"]["draft"].number):
            joined = url + ("&" if "?" in url else "?") + f"q={q}"
            response = client.get(joined)
            if response.status_code == 400 and q == person.id_number:
                continue  # a full identity number never travels in a GET (searches POST it): refused, nothing shown
            if response.status_code != 200:
                assert response.status_code == 403, (url, response.status_code)
                continue
            body = response.content.decode()
            # the rows (the header's sort links repeat the search itself)
            table = body[body.find("<tbody"):body.rfind("</tbody>")] if "<tbody" in body else ""
            for app in ganzhou["cases"].values():
                assert app.number not in table, (role, url, q)
            assert person.masked_id_number not in table and ganzhou["batch"].number not in table
            assert ganzhou["import"].filename not in table


def test_imports_are_their_uploaders_own(client, cz_team, ganzhou):
    client.force_login(cz_team.caseworker)
    body = client.get(reverse("cases:claim_import")).content.decode()
    assert "gz.csv" not in body
    assert ClaimImport.objects.count() == 1
