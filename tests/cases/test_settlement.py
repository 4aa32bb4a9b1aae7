"""Settling a case: the task, idempotence, what is enqueued on commit, the frozen settlement of an
approved case, the payable formula, recalculation and adjustments to the fen, and the slip."""
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as dj_settings
from django.db import IntegrityError, transaction

from cases.models import Adjustment, ClaimAllocation, Identity, Settlement
from cases.selectors import case_detail, slip_data
from cases.services import applications, persons, settlement, workflow
from cases.tasks import recalculate_person_year_task, settle_application_task
from tests.cases.factories import ClaimFactory, make_case, person_with_identity

pytestmark = pytest.mark.django_db
D = datetime.date


def current(app):
    return Settlement.objects.get(application=app, status="current")


def test_running_the_task_twice_gives_one_current_settlement(team):
    app = make_case(team, "draft")
    first = settle_application_task(app.pk)
    second = settle_application_task(app.pk)
    assert first == second
    assert Settlement.objects.filter(application=app).count() == 1
    assert current(app).payable == Decimal("9000.00")  # 赣州 dibao: 75 % of S = 12 000


def test_the_database_allows_one_current_settlement(team):
    app = make_case(team, "draft")
    s = settlement.settle_application(app.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.create(application=app, year=2023, input_hash="x", settlement_hash="y", payload={})
    assert s.status == "current"


def test_submit_and_changes_enqueue_the_settlement_on_commit(team, django_capture_on_commit_callbacks):
    person = person_with_identity(category=None)
    claim = ClaimFactory(person=person)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        app = applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=2023,
                                              claim_ids=[claim.pk])
    assert callbacks and current(app).payable == Decimal("0.00")  # no identity: nothing
    with django_capture_on_commit_callbacks(execute=True):
        entry = persons.add_identity(acting_user=team.caseworker, person_id=person.pk, category="tekun",
                                     start="2023-01-01")
    app.refresh_from_db()
    assert current(app).payable == Decimal("0.00")  # entered, not yet confirmed: it does not count
    with django_capture_on_commit_callbacks(execute=True):
        persons.confirm_identity_entry(acting_user=team.reviewer, entry_id=entry.pk)
    app.refresh_from_db()
    s = current(app)
    assert s.revision == app.calc_revision and s.payable == Decimal("12000.00")  # tekun: 100 % of S
    with django_capture_on_commit_callbacks(execute=True):
        workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    app.refresh_from_db()
    assert current(app).revision == app.calc_revision
    assert Settlement.objects.filter(application=app).count() == 2  # same numbers: no third row


def test_tilted_flag_change_recalculates(team, django_capture_on_commit_callbacks):
    app = make_case(team, "draft")
    settlement.settle_application(app.pk)
    revision = current(app).revision
    with django_capture_on_commit_callbacks(execute=True):
        applications.update_application(acting_user=team.caseworker, application_id=app.pk, tilted_applied=True)
    app.refresh_from_db()
    assert app.calc_revision == revision + 1 and current(app).revision == app.calc_revision
    assert current(app).payload["tilted_applied"] is True


def test_a_stale_calculation_is_not_stored(team, monkeypatch):
    app = make_case(team, "draft")
    real = settlement.calculate

    def slow_engine(payload, **kwargs):
        from django.db.models import F

        from cases.models import Application

        Application.objects.filter(pk=app.pk).update(calc_revision=F("calc_revision") + 1)  # a change meanwhile
        return real(payload, **kwargs)

    monkeypatch.setattr(settlement, "calculate", slow_engine)
    assert settlement.settle_application(app.pk) is None
    assert not Settlement.objects.filter(application=app).exists()


def test_the_whole_year_is_settled_and_the_case_pays_its_own_claims(team):
    person = person_with_identity(category="jiance", start=D(2022, 1, 1))  # 赣州 class 3: 65 % above 3 200
    earlier = ClaimFactory(person=person, date=D(2023, 2, 1), total="10000.00", policy_scope="9000.00",
                           basic_paid="5000.00", critical_paid="0.00")
    mine = ClaimFactory(person=person, date=D(2023, 6, 1), total="20000.00", policy_scope="18000.00",
                        basic_paid="10000.00", critical_paid="0.00", maf_pay="500.00")
    ClaimFactory(person=person, date=D(2022, 6, 1))
    app = make_case(team, "draft", person=person, claims=[mine])
    s = settlement.settle_application(app.pk)
    assert [c["id"] for c in s.payload["claims"]] == [earlier.payload_id, mine.payload_id]
    lines = {line.claim_id: line for line in s.lines.all()}
    assert lines[earlier.pk].in_application is False and lines[mine.pk].in_application is True
    # deductible 10 % × 32 000 = 3 200 consumed by the earlier claim's S = 4 000: 800 above it
    assert lines[earlier.pk].assistance == Decimal("520.00")
    assert lines[mine.pk].assistance == Decimal("5200.00")  # 65 % × 8 000
    assert s.assistance == Decimal("5200.00") and s.maf_paid == Decimal("500.00")
    assert s.payable == Decimal("4700.00")  # A + G − maf_pay


def test_a_refused_settlement_is_stored_and_blocks_the_review(team):
    person = person_with_identity()
    claim = ClaimFactory(person=person, critical_paid=None)  # 赣州 leaves the critical deductible unset
    app = make_case(team, "submitted", person=person, claims=[claim])
    s = current(app)
    assert s.errors and s.payable is None and not s.lines.exists()
    assert "360700" in " ".join(s.refusals()) or "赣" in " ".join(s.refusals())
    with pytest.raises(workflow.SettlementNotReady) as err:   # review cannot even start
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    assert s.refusals()[0] in str(err.value)
    app.refresh_from_db()
    assert app.state == "submitted"
    detail = case_detail(team.reviewer, app.pk)
    assert not detail.settlement_ready and detail.settlement_problem


def test_an_approved_case_keeps_its_settlement(team, django_capture_on_commit_callbacks):
    app = make_case(team, "approved")
    approved = app.approved_settlement
    assert approved.status == "current" and app.amount_approved == Decimal("9000.00")
    assert list(ClaimAllocation.objects.filter(application=app).values_list("amount", flat=True)) == [Decimal("9000.00")]
    assert settlement.settle_application(app.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        entry = persons.add_identity(acting_user=team.caseworker, person_id=app.person_id, category="tekun",
                                     start="2023-01-01")
        persons.confirm_identity_entry(acting_user=team.reviewer, entry_id=entry.pk)
    app.refresh_from_db()
    assert app.approved_settlement_id == approved.pk and app.amount_approved == Decimal("9000.00")
    assert not Settlement.objects.filter(application=app, kind="case").exclude(pk=approved.pk).exists()
    slip = slip_data(team.approver, app.pk)
    assert slip["settlement"]["id"] == approved.pk and slip["totals"]["assistance"] == Decimal("9000.00")


def _paid_dibao_case(team, **claim_kw):
    person = person_with_identity(category="dibao", start=D(2022, 1, 1))
    claim = ClaimFactory(person=person, **claim_kw)
    app = make_case(team, "paid", person=person, claims=[claim])
    return app, person, claim


def test_supplementary_payment_of_the_exact_difference_and_never_twice(team):
    app, person, claim = _paid_dibao_case(team, maf_pay="333.33")
    assert app.amount_approved == Decimal("8666.67")  # 9 000 − 333.33
    dibao = Identity.objects.get(person=person)
    dibao.end = D(2023, 1, 31)
    dibao.save()
    Identity.objects.create(person=person, category="tekun", start=D(2023, 2, 1), department_id="civil_affairs",
                            method="pushed")
    result = settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="backdated tekun")
    adjustment = Adjustment.objects.get(application=app)
    assert result["adjustments"] == [adjustment.pk]
    assert (adjustment.kind, adjustment.amount) == ("supplementary", Decimal("3000.00"))  # 12 000 − 9 000
    assert settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="again") == {"settled": [], "adjustments": []}
    assert recalculate_person_year_task(person.pk, 2023, "task") == {"settled": [], "adjustments": []}
    assert Adjustment.objects.filter(application=app).count() == 1
    committed = sum(ClaimAllocation.objects.filter(claim=claim).values_list("amount", flat=True))
    assert committed == Decimal("12000.00") - Decimal("333.33")


def test_recovery_of_the_exact_difference(team):
    app, person, claim = _paid_dibao_case(team)
    Identity.objects.filter(person=person).update(start=D(2023, 4, 1))  # the identity started after the claim
    settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="identity corrected")
    adjustment = Adjustment.objects.get(application=app)
    assert (adjustment.kind, adjustment.amount) == ("recovery", Decimal("-9000.00"))


def test_a_pending_adjustment_is_replaced_when_the_difference_changes_again(team):
    app, person, claim = _paid_dibao_case(team)
    dibao = Identity.objects.get(person=person)
    dibao.end = D(2023, 1, 31)
    dibao.save()
    settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="closed")
    assert Adjustment.objects.get(application=app, status="pending").amount == Decimal("-9000.00")
    Identity.objects.create(person=person, category="tekun", start=D(2023, 2, 1), department_id="civil_affairs",
                            method="pushed")
    settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="tekun")
    live = Adjustment.objects.filter(application=app).exclude(status="cancelled")
    assert [a.amount for a in live] == [Decimal("3000.00")]
    assert Adjustment.objects.get(application=app, status="cancelled").amount == Decimal("-9000.00")
    assert sum(ClaimAllocation.objects.filter(claim=claim).values_list("amount", flat=True)) == Decimal("12000.00")


def test_the_database_refuses_the_same_adjustment_twice(team):
    app, person, claim = _paid_dibao_case(team)
    Identity.objects.filter(person=person).update(start=D(2023, 4, 1))
    settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="x")
    adj = Adjustment.objects.get(application=app)
    with pytest.raises(IntegrityError), transaction.atomic():
        Adjustment.objects.create(application=app, settlement=adj.settlement, kind="recovery", amount=adj.amount,
                                  basis_hash=adj.basis_hash)


def test_recalculation_resettles_open_cases(team):
    app = make_case(team, "in_review")
    Identity.objects.filter(person=app.person).update(category="tekun")
    result = settlement.recalculate_person_year(person_id=app.person_id, year=2023, reason="retroactive policy")
    assert result["settled"] == [app.pk] and current(app).payable == Decimal("12000.00")


def test_a_later_case_on_a_paid_claim_deducts_what_was_paid(team):
    app, person, claim = _paid_dibao_case(team)
    Identity.objects.filter(person=person).update(category="tekun")
    later = make_case(team, "draft", person=person, claims=[claim])
    s = settlement.settle_application(later.pk)
    line = s.lines.get(claim=claim)
    assert (line.assistance, line.paid_before, line.payable) == (Decimal("12000.00"), Decimal("9000.00"), Decimal("3000.00"))
    # the open case absorbs the difference: no adjustment on the paid one
    assert settlement.recalculate_person_year(person_id=person.pk, year=2023, reason="x")["adjustments"] == []


def test_the_slip_equals_the_engine(team):
    from policies.services import settle_payload

    person = person_with_identity(category="illness_poverty", start=D(2023, 5, 1), residence="rural")
    spec = json.loads((Path(dj_settings.SHARED_DIR) / "spec/examples/ganzhou_tilted_lookback.input.json").read_text())
    expected = json.loads((Path(dj_settings.SHARED_DIR) / "spec/examples/ganzhou_tilted_lookback.expected.json").read_text())
    claims = []
    for c in spec["claims"]:
        claims.append(ClaimFactory(person=person, date=D.fromisoformat(c["date"]), kind=c["kind"], location=c["location"],
                                   total=c["total"], policy_scope=c["policy_scope"], basic_paid=c["basic_paid"],
                                   critical_paid=c["critical_paid"], hospital_level=1))
    app = make_case(team, "approved", person=person, claims=claims, tilted=True)
    slip = slip_data(team.approver, app.pk)
    engine = settle_payload(payload=settlement.build_payload(app)[0])
    by_id = {c["id"]: c for c in engine["claims"]}
    keys = ["total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
            "out_of_pocket"]
    for row in slip["claims"]:
        got = by_id[f"c{row['claim_id']}"]
        for k in keys:
            assert row[k] == Decimal(got[k]), (k, row, got)
        assert row["policy"] == got["policy"]
    for k in keys[2:]:
        if k in engine["totals"]:
            assert slip["totals"][k] == Decimal(engine["totals"][k])
    # … and the engine's numbers are the worked example's
    assert slip["totals"]["assistance"] == Decimal(expected["totals"]["assistance"]) == Decimal("20000.00")
    assert slip["totals"]["tilted"] == Decimal(expected["totals"]["tilted"]) == Decimal("21000.00")
    assert slip["totals"]["payable"] == Decimal("41000.00") == app.amount_approved
    assert slip["policies"] == ["赣市府办字〔2022〕112号"]


def test_a_pushed_person_whose_scheme_is_to_be_verified_is_not_settled_on_a_guess_until_a_clerk_verifies_it(
        team, cz_team):
    from django.utils import translation

    from cases.models import Person, PersonDetailChange

    person = person_with_identity(region="130903")
    Person.objects.filter(pk=person.pk).update(residence="", scheme="")  # as a push without the columns leaves it
    person.refresh_from_db()
    # 沧州's 大病保险 covers the resident scheme only, and the hospital's statement gives no 大病保险 amount:
    # what the engine computes depends on the scheme
    app = make_case(cz_team, "draft", person=person, claims=[ClaimFactory(person=person, critical_paid=None)])
    s = settlement.settle_application(app.pk)
    assert s.payable is None and [e["code"] for e in s.errors] == ["case.person_unverified"]
    with translation.override("zh-hans"):
        text = " ".join(s.refusals())
    assert "参保险种" in text and "待核实" in text and "人员页面" in text and "scheme" not in text
    # a claim whose amounts are all given settles the same whatever the scheme: it is settled
    other = person_with_identity(region="360702")
    Person.objects.filter(pk=other.pk).update(scheme="")
    done = settlement.settle_application(make_case(team, "draft", person=other).pk)
    assert done.payable is not None and not done.errors, done.errors
    # the caseworker verifies: recorded who, when, old → new, and the case is settled
    persons.update_person(acting_user=cz_team.caseworker, person_id=person.pk, residence="rural", scheme="resident")
    changes = list(PersonDetailChange.objects.filter(person=person).order_by("field"))
    assert [(c.field, c.old_value, c.new_value, c.changed_by) for c in changes] == [
        ("residence", "", "rural", cz_team.caseworker), ("scheme", "", "resident", cz_team.caseworker)]
    with translation.override("zh-hans"):
        assert (changes[1].old_label, changes[1].new_label) == ("待核实", "城乡居民医保")
    s = settlement.settle_application(app.pk)
    assert "case.person_unverified" not in [e["code"] for e in s.errors]
