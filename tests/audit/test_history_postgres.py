"""The record of every change on PostgreSQL: each tracked model gets a history row per insert,
update and delete, with who and through which channel — also for writes that bypass the ORM (the
push's set-based path, the recalculation's COPY and bulk updates, a raw UPDATE)."""
import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from cases.models import (
    Adjustment,
    Application,
    ApplicationClaim,
    Claim,
    Household,
    Identity,
    PaymentBatch,
    PaymentLine,
    Person,
    Settlement,
)
from cases.services import claims, persons
from policies.models import PolicyVersion, Statistic
from portal.audit.context import audit_context
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.exchange.helpers import csv_bytes, push_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
D = datetime.date


def history(model):
    return apps.get_model(model._meta.app_label, f"{model.__name__}History").objects.select_related("pgh_context")


def meta(row) -> dict:
    return row.pgh_context.metadata if row.pgh_context_id else {}


@pytest.fixture(autouse=True)
def _tasks():
    import cases.tasks  # noqa: F401


def test_every_tracked_model_is_recorded_with_who_and_channel(team):
    with audit_context(channel="web", user=team.caseworker):
        household = persons.create_household(acting_user=team.caseworker, region_code="360702", number="H-1",
                                             head_name="户主")
        app = make_case(team, "paid")
    region_version = PolicyVersion.objects.filter(region_id="360700").first()
    PolicyVersion.objects.filter(pk=region_version.pk).update(title=region_version.title + "（测试）")  # a raw UPDATE
    statistic = Statistic.objects.filter(region_id="360700").first()
    batch = PaymentBatch.objects.get(lines__application=app)
    line = PaymentLine.objects.get(application=app)
    expected = {
        Household: household.pk, Person: app.person_id, Identity: app.person.identities.first().pk,
        Claim: app.claim_links.get().claim_id, Application: app.pk,
        ApplicationClaim: app.claim_links.get().pk, Settlement: app.approved_settlement_id,
        PaymentBatch: batch.pk, PaymentLine: line.pk, PolicyVersion: region_version.pk, Statistic: statistic.pk,
    }
    for model, pk in expected.items():
        rows = list(history(model).filter(pgh_obj_id=pk).order_by("pgh_id"))
        assert rows, f"no history for {model.__name__}"
    # who and how: the caseworker's inserts through the web; the case's walk through its states
    assert meta(history(Household).get(pgh_obj_id=household.pk)) == {"channel": "web", "user": team.caseworker.pk}
    states = [r.state for r in history(Application).filter(pgh_obj_id=app.pk).order_by("pgh_id")]
    assert states[0] == "draft" and states[-1] == "paid" and "approved" in states
    assert history(PolicyVersion).filter(pgh_obj_id=region_version.pk, pgh_label="update",
                                         title__endswith="（测试）").exists()
    # old → new of the payment line: pending, then paid with the bank reference
    line_rows = list(history(PaymentLine).filter(pgh_obj_id=line.pk).order_by("pgh_id"))
    assert [(r.pgh_label, r.status) for r in line_rows][:1] == [("insert", "pending")]
    assert line_rows[-1].status == "paid" and line_rows[-1].bank_reference


def test_a_pushed_list_and_the_bulk_recalculation_are_recorded(team):
    """The push's set-based path (COPY into a staging table, INSERT … SELECT / UPDATE … FROM) and
    the recalculation (settlements written with COPY, bulk status updates) leave history rows,
    attributed to the liaison's push and to the worker."""
    person = person_with_identity(region="360702", category="jiance", start=D(2022, 1, 1), name="钟秀英")
    app = make_case(team, "paid", person=person, claims=[ClaimFactory(person=person, date=D(2023, 3, 10))])
    before = history(Settlement).filter(application_id=app.pk).count()
    data = csv_bytes([[person.id_number, person.name, "低保对象", "新增", "2023-01-01", "章民〔2023〕9号", ""]])
    push, _ = push_file(team.civil, data, region="360700")
    assert push.identities_opened == 1 and push.engine == "postgres"
    pushed = Identity.objects.get(person=person, category="dibao")
    row = history(Identity).get(pgh_obj_id=pushed.pk, pgh_label="insert")
    assert meta(row)["channel"] == "push" and meta(row)["user"] == team.civil.pk
    adjustment = Adjustment.objects.get(application=app)
    assert adjustment.amount == Decimal("3280.00")
    adj_row = history(Adjustment).get(pgh_obj_id=adjustment.pk, pgh_label="insert")
    assert adj_row.amount == Decimal("3280.00") and adj_row.kind == "supplementary"
    # the recalculation's settlement (written with COPY on the batch path) and the status flips
    assert history(Settlement).filter(application_id=app.pk).count() > before
    assert history(Settlement).filter(application_id=app.pk, pgh_label="insert", kind="recalculation").exists()


def test_bulk_update_of_many_rows_is_one_history_row_each(team):
    people = [person_with_identity() for _ in range(5)]
    with audit_context(channel="worker"):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(phone="13800000000")
    rows = history(Person).filter(pgh_obj_id__in=[p.pk for p in people], pgh_label="update")
    assert rows.count() == 5 and {meta(r)["channel"] for r in rows} == {"worker"}
    # an update that changes nothing records nothing
    Person.objects.filter(pk__in=[p.pk for p in people]).update(phone="13800000000")
    assert history(Person).filter(pgh_obj_id__in=[p.pk for p in people], pgh_label="update").count() == 5


def test_web_api_and_import_channels(client, team):
    person = person_with_identity()
    api = APIClient()
    api.force_authenticate(team.caseworker)
    body = {"person_id": person.pk, "date": "2023-02-02", "kind": "inpatient", "total": "50.00",
            "policy_scope": "40.00", "basic_paid": "1.00", "critical_paid": "0.00", "hospital_name": "甲医院"}
    response = api.post("/api/v1/claims/", body, format="json")
    assert response.status_code == 201, response.content
    claim_id = response.json()["id"]
    row = history(Claim).get(pgh_obj_id=claim_id)
    assert meta(row)["channel"] == "api" and meta(row)["user"] == team.caseworker.pk
    client.force_login(team.caseworker)
    response = client.post(f"/cases/claims/{claim_id}/void/", {"reason": "重复录入"})
    assert response.status_code == 302
    voided = history(Claim).filter(pgh_obj_id=claim_id, pgh_label="update").get()
    assert voided.void_reason == "重复录入" and meta(voided)["channel"] == "web"
    assert meta(voided)["user"] == team.caseworker.pk and meta(voided)["url"].endswith("/void/")
    # the national platform's file, imported through the page: channel "import"
    from tests.cases.test_import import csv_bytes as claim_csv
    from tests.cases.test_import import row as claim_row

    content = claim_csv([claim_row(person, "IMP-1")])
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.exchange.oncommit import run_on_commit

    with run_on_commit():   # the upload is processed by a task sent on commit
        response = client.post("/cases/claims/import/", {"file": SimpleUploadedFile("s.csv", content, "text/csv")})
    assert response.status_code == 302, response.content.decode()[:500]
    imported = Claim.objects.get(setl_id="IMP-1")
    assert meta(history(Claim).get(pgh_obj_id=imported.pk)) ["channel"] == "import"


def test_history_is_append_only(team):
    claim = claims.create_claim(acting_user=team.caseworker, person_id=person_with_identity().pk, date="2023-01-02",
                                kind="inpatient", total="100.00", policy_scope="90.00")
    table = apps.get_model("cases", "ClaimHistory")._meta.db_table
    for sql in (f"UPDATE {table} SET total = 1 WHERE pgh_obj_id = %s", f"DELETE FROM {table} WHERE pgh_obj_id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [claim.pk])
    assert history(Claim).filter(pgh_obj_id=claim.pk).count() == 1
