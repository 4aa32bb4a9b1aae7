"""The record of every change, for the tables added to it after the first round (issue 13, "a record
of every change"): settlement lines, the allocation ledger, payee changes, recovery entries and the
exchange's tables (pushes and their rejected rows, confirmation requests, monitoring runs and
warnings, subsidies and their lists, contribution standards, enrolment tiers, outbound deliveries,
budgets). Each write below leaves a history row with who, the channel and old → new — the set-based
and bulk writes (the push's ``INSERT … SELECT``, ``bulk_create`` of lines and allocations) as well
as a web page and an API call (the channel set by the middleware)."""
import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse
from rest_framework.test import APIClient

from cases.enrolment import services as subsidy
from cases.enrolment.models import ContributionStandard, EnrolmentTier, Subsidy, SubsidyList, SubsidyListItem
from cases.exchange.models import (
    ConfirmationRequest,
    IdentityPush,
    OutboundDelivery,
    PushRejectedRow,
)
from cases.exchange.services import confirmations
from cases.models import ClaimAllocation, PayeeChange, SettlementLine
from cases.monitoring import services as monitoring
from cases.monitoring.models import MonitoringRun, MonitoringWarning
from cases.reporting.models import AssistanceBudget
from cases.services import payees, workflow
from cases.services import settlement as settlement_service
from portal.audit import selectors as audit_selectors
from portal.audit.context import audit_context
from tests.cases.factories import ClaimFactory, add_statistics, make_case, person_with_identity
from tests.exchange.helpers import csv_bytes, push_file
from tests.exchange.oncommit import run_on_commit
from tests.factories import IdentityFactory, PersonFactory, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
D = datetime.date
NEW_MODELS = [SettlementLine, ClaimAllocation, PayeeChange, IdentityPush, PushRejectedRow, ConfirmationRequest,
              MonitoringRun, MonitoringWarning, Subsidy, SubsidyList, SubsidyListItem, ContributionStandard,
              EnrolmentTier, OutboundDelivery, AssistanceBudget]


def history(model):
    return apps.get_model(model._meta.app_label, f"{model.__name__}History").objects.select_related("pgh_context")


def meta(row) -> dict:
    return row.pgh_context.metadata if row.pgh_context_id else {}


@pytest.fixture(autouse=True)
def _tasks():
    import cases.tasks  # noqa: F401


def test_every_new_table_is_tracked_and_on_the_audit_log():
    keys = {t.model for t in audit_selectors.TRACKED}
    for model in NEW_MODELS:
        assert history(model).model._meta.db_table.endswith("history"), model
        assert model._meta.label in keys, f"{model._meta.label} is not on the audit log"


def test_settlement_lines_and_allocations_by_the_worker_and_the_approver(team):
    app = make_case(team, "draft")
    with audit_context(channel="worker"):
        current = settlement_service.settle_application(app.pk)
    lines = list(SettlementLine.objects.filter(settlement=current))
    assert lines
    rows = history(SettlementLine).filter(pgh_obj_id__in=[x.pk for x in lines], pgh_label="insert")
    assert rows.count() == len(lines)  # bulk_create: one statement, a row per line
    assert {meta(r)["channel"] for r in rows} == {"worker"} and {r.payable for r in rows} == {x.payable for x in lines}
    for action, user in (("submit", team.caseworker), ("start_review", team.reviewer)):
        workflow.transition(acting_user=user, application_id=app.pk, action=action)
    settlement_service.settle_application(app.pk)
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass")
    with audit_context(channel="web", user=team.approver):
        workflow.transition(acting_user=team.approver, application_id=app.pk, action="approve")
    allocations = list(ClaimAllocation.objects.filter(application=app))
    assert allocations
    for a in allocations:
        row = history(ClaimAllocation).get(pgh_obj_id=a.pk, pgh_label="insert")
        assert meta(row) == {"channel": "web", "user": team.approver.pk} and row.amount == a.amount


def test_a_payee_change_old_to_new_state_with_each_person(team):
    app = make_case(team, "approved")
    with audit_context(channel="web", user=team.caseworker):
        change = payees.request_change(acting_user=team.caseworker, application_id=app.pk, reason="原账户已销户",
                                       payee_type="hospital", payee_name="赣州市人民医院", payee_bank="赣州银行",
                                       payee_account="6222000099990000")
    with audit_context(channel="api", user=team.reviewer):
        payees.review_change(acting_user=team.reviewer, change_id=change.pk, passed=True)
    with audit_context(channel="web", user=team.approver):
        payees.decide_change(acting_user=team.approver, change_id=change.pk, approved=True)
    rows = list(history(PayeeChange).filter(pgh_obj_id=change.pk).order_by("pgh_id"))
    assert [(r.pgh_label, meta(r)["user"], meta(r)["channel"]) for r in rows] == [
        ("insert", team.caseworker.pk, "web"), ("update", team.reviewer.pk, "api"),
        ("update", team.approver.pk, "web")]
    assert [r.state for r in rows][0] != rows[-1].state == PayeeChange.objects.get(pk=change.pk).state
    assert len({r.state for r in rows}) == 3  # to review → reviewed → approved, each its own row
    assert (rows[0].old_account, rows[0].new_account) == (app.approved_payee_account, "6222000099990000")
    # the audit log explains the update as old → new
    entries = audit_selectors.explain([{"audit_kind": "payee_change", "audit_row": rows[2].pgh_id,
                                        "audit_at": rows[2].pgh_created_at}])
    state_change = [c for c in entries[0].changes if c.field == "state"]
    assert state_change and state_change[0].old != state_change[0].new
    assert entries[0].operator == team.approver.display_name


def test_a_push_and_its_rejected_rows_by_the_set_based_path(team):
    person = person_with_identity(region="360702", category="jiance", start=D(2022, 1, 1), name="钟秀英")
    data = csv_bytes([
        [person.id_number, person.name, "低保对象", "新增", "2023-01-01", "章民〔2023〕9号", ""],
        ["36070219610312131", "赖福生", "低保对象", "新增", "2023-01-01", "章民〔2023〕9号", ""],  # 17 digits
    ])
    with audit_context(channel="web", user=team.civil):  # as the upload page does
        push, _ = push_file(team.civil, data, region="360700")
    assert push.engine == "postgres" and push.rows_rejected == 1
    rows = list(history(IdentityPush).filter(pgh_obj_id=push.pk).order_by("pgh_id"))
    assert rows[0].pgh_label == "insert" and rows[0].status == "queued"
    assert rows[-1].status == "done" and rows[-1].rows_rejected == 1
    assert all(meta(r)["user"] == team.civil.pk for r in rows)
    assert meta(rows[0])["channel"] == "web" and meta(rows[-1])["channel"] == "push"  # received, then processed
    rejected = PushRejectedRow.objects.get(push=push)
    row = history(PushRejectedRow).get(pgh_obj_id=rejected.pk)  # written by INSERT … SELECT
    assert row.pgh_label == "insert" and meta(row) == {**meta(row), "channel": "push", "user": team.civil.pk}
    assert row.id_number == "36070219610312131"


def test_a_confirmation_request_asked_and_answered_on_the_pages(client, team):
    add_statistics()
    person = person_with_identity(region="360702")
    app = make_case(team, "in_review", person=person, claims=[ClaimFactory(person=person, date=D(2023, 3, 10))])
    with audit_context(channel="web", user=team.reviewer):
        request = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="tekun",
                                               claimed_start=D(2023, 1, 1))
    client.force_login(team.civil)
    with run_on_commit():
        response = client.post(reverse("exchange:confirmation_detail", args=[request.pk]),
                               {"action": "confirm", "confirm-reference": "章民〔2023〕11号",
                                "confirm-confirmed_start": "2023-01-01"})
    assert response.status_code in (200, 302), response.content.decode()[:300]
    request.refresh_from_db()
    rows = list(history(ConfirmationRequest).filter(pgh_obj_id=request.pk).order_by("pgh_id"))
    assert (rows[0].pgh_label, rows[0].status, meta(rows[0])["user"]) == ("insert", "open", team.reviewer.pk)
    last = rows[-1]  # answered through the page: who, channel, old → new
    assert request.status == "confirmed" and (last.pgh_label, last.status) == ("update", "confirmed")
    assert meta(last)["channel"] == "web" and meta(last)["user"] == team.civil.pk
    assert meta(last)["url"] == reverse("exchange:confirmation_detail", args=[request.pk])


def test_monitoring_run_and_warning_by_the_worker_then_the_outcome_on_the_web(client):
    add_statistics()
    p = PersonFactory(region_id="130903", residence="rural", scheme="resident")
    for day, total, scope, basic, critical in ((D(2023, 2, 1), "20000.00", "18000.00", "9000.00", "1000.00"),
                                                (D(2023, 7, 9), "9000.00", "9000.00", "0.00", "0.00")):
        ClaimFactory(person=p, date=day, total=Decimal(total), policy_scope=Decimal(scope), basic_paid=Decimal(basic),
                     critical_paid=Decimal(critical))
    with audit_context(channel="worker"):
        run = monitoring.start_run(acting_user=None, trigger="command", year=2023, region_code="130900",
                                   enqueue=False)
        monitoring.execute_run(run_id=run.pk)
    run_rows = list(history(MonitoringRun).filter(pgh_obj_id=run.pk).order_by("pgh_id"))
    assert run_rows[0].finished_at is None and run_rows[-1].finished_at is not None
    assert {meta(r)["channel"] for r in run_rows} == {"worker"} and {meta(r)["user"] for r in run_rows} == {None}
    warning = MonitoringWarning.objects.get(person=p)
    assert meta(history(MonitoringWarning).get(pgh_obj_id=warning.pk, pgh_label="insert"))["channel"] == "worker"
    civil = make_user("liaison", region="130900", department="civil_affairs")
    api = APIClient()
    api.force_authenticate(civil)
    response = api.post(f"/api/v1/exchange/warnings/{warning.pk}/outcome/", {"outcome": "assisted", "note": "已纳入低保"},
                        format="json")
    assert response.status_code == 200, response.content.decode()[:300]
    update = history(MonitoringWarning).filter(pgh_obj_id=warning.pk, pgh_label="update").order_by("-pgh_id").first()
    assert update is not None and update.outcome == "assisted" and meta(update)["user"] == civil.pk
    assert meta(update)["channel"] == "api"


def test_subsidy_tables_contribution_tier_list_and_delivery(client):
    admin = make_user("policy_admin", region="130900")
    with audit_context(channel="web", user=admin):
        standard = subsidy.set_contribution_standard(acting_user=admin, region_code="130900", year=2024,
                                                     tier1_personal="380.00")
        subsidy.set_contribution_standard(acting_user=admin, region_code="130900", year=2024, tier1_personal="400.00")
    rows = list(history(ContributionStandard).filter(pgh_obj_id=standard.pk).order_by("pgh_id"))
    assert [r.tier1_personal for r in rows] == [Decimal("380.00"), Decimal("400.00")]  # old → new
    assert {meta(r)["user"] for r in rows} == {admin.pk}
    p = PersonFactory(region_id="130903")
    IdentityFactory(person=p, category="dibao", start=D(2023, 1, 1))
    with audit_context(channel="web", user=admin):
        tier = subsidy.set_tier(acting_user=admin, year=2024, tier=1, person_id=p.pk)
    assert meta(history(EnrolmentTier).get(pgh_obj_id=tier.pk))["user"] == admin.pk
    with audit_context(channel="worker"):
        lst, _ = subsidy.produce_list(acting_user=None, region_code="130900", year=2024, month=5)
    assert meta(history(SubsidyList).get(pgh_obj_id=lst.pk, pgh_label="insert"))["channel"] == "worker"
    item = SubsidyListItem.objects.get(subsidy_list=lst, person=p)
    assert history(SubsidyListItem).get(pgh_obj_id=item.pk).amount == item.amount
    current = Subsidy.objects.get(person=p, year=2024)
    assert history(Subsidy).filter(pgh_obj_id=current.pk).exists()
    finance = make_user("liaison", region="130900", department="finance")
    client.force_login(finance)
    assert client.get(reverse("enrolment:subsidy_export", args=[lst.pk, "csv"])).status_code == 200
    delivery = OutboundDelivery.objects.get(subsidy_list=lst)
    row = history(OutboundDelivery).get(pgh_obj_id=delivery.pk)
    assert meta(row)["channel"] == "web" and meta(row)["user"] == finance.pk and row.rows == delivery.rows


def test_a_budget_set_through_the_api(client):
    admin = make_user("policy_admin", region="360700")
    from cases.reporting import services as budgets

    with audit_context(channel="api", user=admin):
        budget = budgets.set_budget(acting_user=admin, region_code="360700", year=2024, amount="1000000.00")
        budgets.set_budget(acting_user=admin, region_code="360700", year=2024, amount="1200000.00")
    rows = list(history(AssistanceBudget).filter(pgh_obj_id=budget.pk).order_by("pgh_id"))
    assert [(r.pgh_label, r.amount) for r in rows] == [("insert", Decimal("1000000.00")),
                                                      ("update", Decimal("1200000.00"))]
    assert {(meta(r)["channel"], meta(r)["user"]) for r in rows} == {("api", admin.pk)}
