"""Uploads on PostgreSQL (issue 13 item 5 and the double-clicked import): the same claim file sent
twice at the same moment is one import — both answers lead to it, never a 500 — and, with a real
Celery worker, a claim import and a bank return file are processed by the worker while the page
polls their progress."""
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from cases.models import BankReturn, Claim, ClaimImport
from cases.services import payments
from tests.cases.factories import add_statistics, make_case, make_team, person_with_identity, sent_to_bank
from tests.cases.test_import import csv_bytes, row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def pg_team(settings):
    # files are stored under the default MEDIA_ROOT: the worker (another process) reads them there
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    add_statistics()
    return make_team("360700", prefix="up")


def _post_at_once(n: int, url: str, user, make_data):
    """``n`` browsers of ``user`` post ``make_data()`` to ``url`` at the same moment."""
    barrier = threading.Barrier(n)
    answers, errors = [None] * n, [None] * n

    def send(i):
        client = Client()
        client.force_login(user)
        try:
            barrier.wait()
            answers[i] = client.post(url, make_data())
        except Exception as exc:  # collected for the assertions
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers, errors


def test_a_double_clicked_claim_import_is_one_import_and_never_a_500(pg_team):
    person = person_with_identity()
    content = csv_bytes([row(person, "DC1"), row(person, "DC2")])
    answers, errors = _post_at_once(
        2, reverse("cases:claim_import"), pg_team.caseworker,
        lambda: {"file": SimpleUploadedFile("setlinfo.csv", content, content_type="text/csv")})
    assert errors == [None, None]
    assert [a.status_code for a in answers] == [302, 302], [a.content[:300] for a in answers]
    record = ClaimImport.objects.get()  # one import, both answers lead to it
    assert {a["Location"] for a in answers} == {reverse("cases:claim_import_report", args=[record.pk])}
    assert record.status == "done" and record.rows_created == 2
    assert sorted(Claim.objects.values_list("setl_id", flat=True)) == ["DC1", "DC2"]


def _wait(condition, worker, seconds: float = 180, what: str = ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
    from portal.models import OutboxJob

    jobs = list(OutboxJob.objects.values_list("task", "sent_at", "last_error"))
    pytest.fail(f"the worker did not finish {what} within {seconds} s; "
                f"imports {list(ClaimImport.objects.values_list('status', 'failure'))}, jobs {jobs}")


@pytest.mark.celery_worker
def test_a_real_worker_imports_claims_and_applies_a_bank_return_while_the_page_polls(pg_team, worker, client):
    person = person_with_identity()
    client.force_login(pg_team.caseworker)
    content = csv_bytes([row(person, "RW1"), row(person, "RW2", med_type="99")])
    answer = client.post(reverse("cases:claim_import"), {"file": SimpleUploadedFile("w.csv", content)})
    assert answer.status_code == 302
    record = ClaimImport.objects.get()
    status_url = reverse("cases:claim_import_status", args=[record.pk])
    _wait(lambda: ClaimImport.objects.filter(pk=record.pk, status__in=["done", "failed"]).exists(), worker,
          what="the claim import")
    polled = client.get(status_url, HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"  # the page reloads with the report
    record.refresh_from_db()
    assert record.status == "done", record.failure
    assert (record.rows_created, record.rows_failed, record.errors_count) == (1, 1, 1)
    assert Claim.objects.filter(setl_id="RW1").exists() and not Claim.objects.filter(setl_id="RW2").exists()

    make_case(pg_team, "approved")
    batch = payments.create_batch(acting_user=pg_team.payment, region_code="360700")
    sent_to_bank(pg_team, batch)
    line = batch.lines.get()
    text = ("明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因\n"
            f"{line.pk},{batch.number},{line.payee_name},{line.payee_account},{line.amount},成功,B1,\n")
    client.force_login(pg_team.payment2)
    answer = client.post(reverse("cases:batch_return_upload", args=[batch.pk]),
                         {"file": SimpleUploadedFile("r.csv", text.encode())})
    assert answer.status_code == 302, answer.content[:300]
    br = BankReturn.objects.get()
    assert not br.checked  # received only: the worker reads and checks the rows
    _wait(lambda: BankReturn.objects.filter(pk=br.pk, status="done").exists(), worker, what="the bank return")
    br.refresh_from_db()
    assert (br.rows_total, br.lines_paid, br.rows_rejected) == (1, 1, 0)
