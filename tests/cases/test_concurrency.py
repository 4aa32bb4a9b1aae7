"""Concurrency on PostgreSQL: the same action submitted at once by many people or twice by one
person succeeds once; the others get the conflict; nothing is paid or adjusted twice."""
import threading
from decimal import Decimal

import pytest
from django.db import connection

from cases.models import Adjustment, Application, ApplicationEvent, Identity, PaymentBatch, PaymentLine, Settlement
from cases.services import payments, settlement, workflow
from cases.services.errors import Conflict
from tests.cases.factories import add_statistics, make_case, make_team, sent_to_bank
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def race(n, fn):
    """Run ``fn(i)`` in ``n`` threads released at the same moment; returns (results, errors)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def target(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # collected for the assertions
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


@pytest.fixture
def pg_team(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    add_statistics()
    return make_team("360700", prefix="pg")


def test_twenty_people_take_the_same_transition_at_once(pg_team):
    app = make_case(pg_team, "submitted")
    reviewers = [make_user("reviewer", region="360700", username=f"pg_rev{i}") for i in range(20)]
    results, errors = race(20, lambda i: workflow.transition(acting_user=reviewers[i], application_id=app.pk,
                                                              action="start_review"))
    assert sum(r is not None for r in results) == 1
    conflicts = [e for e in errors if e is not None]
    assert len(conflicts) == 19 and all(isinstance(e, workflow.StateConflict) for e in conflicts)
    winner = reviewers[next(i for i, r in enumerate(results) if r is not None)]
    assert all(winner.display_name in str(e) for e in conflicts)
    events = list(ApplicationEvent.objects.filter(application=app).order_by("id"))
    assert [e.action for e in events] == ["submit", "start_review"]
    state = "draft"
    for e in events:  # no skipped state: each event starts where the previous ended
        assert e.from_state == state
        state = e.to_state
    assert Application.objects.get(pk=app.pk).state == state == "in_review"


def test_the_same_batch_request_twice_at_once(pg_team):
    apps = [make_case(pg_team, "approved") for _ in range(3)]
    ids = [a.pk for a in apps]
    results, errors = race(8, lambda i: payments.create_batch(acting_user=pg_team.payment, region_code="360700",
                                                               application_ids=ids))
    made = [r for r in results if r is not None]
    assert len(made) == 1 and all(isinstance(e, Conflict) for e in errors if e is not None)
    assert PaymentBatch.objects.count() == 1 and PaymentLine.objects.count() == 3
    keyed, errors = race(8, lambda i: payments.create_batch(acting_user=pg_team.payment2, region_code="360700",
                                                            request_key="same-click"))
    assert all(isinstance(e, Conflict) for e in errors if e is not None)  # nothing left to pay
    assert PaymentBatch.objects.count() == 1


def test_the_same_keyed_request_from_a_double_click(pg_team):
    for _ in range(2):
        make_case(pg_team, "approved")
    results, errors = race(6, lambda i: payments.create_batch(acting_user=pg_team.payment, region_code="360700",
                                                               request_key="k-42"))
    assert errors == [None] * 6, errors
    assert len({r.pk for r in results}) == 1 and PaymentLine.objects.count() == 2


def test_the_same_bank_result_recorded_at_once(pg_team):
    app = make_case(pg_team, "approved")
    batch = payments.create_batch(acting_user=pg_team.payment, region_code="360700")
    sent_to_bank(pg_team, batch)
    line = batch.lines.get()
    results, errors = race(10, lambda i: payments.record_results(
        acting_user=pg_team.payment, batch_id=batch.pk,
        results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": "BANK-1"}]))
    assert errors == [None] * 10, errors
    assert ApplicationEvent.objects.filter(application=app, action="bank_ok").count() == 1
    assert Application.objects.get(pk=app.pk).state == "paid"


def test_settlement_and_recalculation_at_once(pg_team):
    app = make_case(pg_team, "draft")
    race(10, lambda i: settlement.settle_application(app.pk))
    assert Settlement.objects.filter(application=app, status="current").count() == 1
    assert Settlement.objects.filter(application=app).count() == 1
    paid = make_case(pg_team, "paid")
    Identity.objects.filter(person=paid.person).update(category="tekun")
    results, errors = race(10, lambda i: settlement.recalculate_person_year(person_id=paid.person_id, year=2023, reason="x"))
    assert errors == [None] * 10, errors
    adjustments = Adjustment.objects.filter(application=paid).exclude(status="cancelled")
    assert [a.amount for a in adjustments] == [Decimal("3000.00")]
