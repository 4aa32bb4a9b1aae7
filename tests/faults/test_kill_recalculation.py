"""A worker SIGKILLed twice in the middle of the recalculation that follows an identity change, and
started again: every person-year ends recalculated exactly as in an undisturbed run — the same
settlements (current and superseded), the same lines, each 补发 / 追回 adjustment exactly once, the
same allocation ledger, every mark done once.

The scenario (deterministic, ``bench/recalc/fill.py``): 1 200 residents of 赣州市 with four claims
of 2023 and one case each — a fifth left open (submitted), the others settled and approved. Then
identities change the way a push changes them: the mid-year 低保 backdated to 1 January, a 低保
added to a fifth of the people (监测对象 until then), the 监测对象 of a third closed at the end of
May — and every person-year is marked. ``exchange.recalculate_marked`` works through the marks
``LIMIT`` at a time, one transaction per task, re-enqueueing itself (through the outbox) while
marks remain; the worker is killed while it does, twice.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection, transaction

from cases.models import CALCULABLE_STATES, Adjustment, Application, RecalcMark
from portal.jobs import enqueue
from portal.models import OutboxJob
from tests.faults.snapshots import cases_state, diff, marks_state

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PERSONS = 1_200
CLAIMS = 4
LIMIT = 20          # person-years per task: sixty tasks
KILL_AT = (0.2, 0.55)  # share of the marks done when the worker is killed
TAG = "97"


def build() -> int:
    """An empty registry, then the scenario; returns the number of marks (ids start at 1 each time,
    so both runs have the same ids as well)."""
    from bench.recalc import fill
    from cases.services.recalc_batch import recalculate_person_years

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_person, portal_outboxjob RESTART IDENTITY CASCADE")
    with transaction.atomic():
        ids = fill.fill(persons=PERSONS, claims=CLAIMS, tag=TAG)

    def settle(app_ids):
        pairs = sorted(set(Application.objects.filter(pk__in=app_ids).values_list("person_id", "year")))
        items = [(p, y, "first settlement") for p, y in pairs]
        try:
            recalculate_person_years(items)
        except Exception:  # noqa: BLE001 - a chunk refused is done again, as recalculate_pending does
            recalculate_person_years(items)

    with transaction.atomic():
        approved = fill.settle_and_approve(ids, settle)
    assert approved > PERSONS // 2
    with transaction.atomic():
        with connection.cursor() as cursor:  # 追回 for claims after May of a third of the 监测对象
            cursor.execute(f"""
                UPDATE cases_identity i SET "end" = DATE '2023-05-31' FROM cases_person p
                 WHERE p.id = i.person_id AND p.id_number LIKE '{TAG}%%' AND i.category = 'jiance'
                   AND substr(p.id_number, 3)::bigint %% 10 IN (3, 4)""", {})
        marks = fill.backdate_change(tag=TAG, reason="push:1")
    assert marks == PERSONS
    return marks


def progress() -> tuple[int, int]:
    """(marks done, marks pending)."""
    done = RecalcMark.objects.filter(done_at__isnull=False).count()
    return done, RecalcMark.objects.count() - done


def finished() -> bool:
    if RecalcMark.objects.filter(failed=True).exists():
        pytest.fail("a recalculation failed: " + RecalcMark.objects.filter(failed=True).first().outcome)
    return progress()[1] == 0 and not OutboxJob.objects.filter(sent_at__isnull=True).exists()


def start_recalculation() -> None:
    with transaction.atomic():  # as a push does: the job leaves the outbox for Redis on commit
        enqueue("exchange.recalculate_marked", LIMIT)


def revisions() -> dict[int, int]:
    return dict(Application.objects.values_list("pk", "calc_revision"))


def check_consistent_mid_way(marks: int, before: dict[int, int]) -> int:
    """After a kill: chunks are all or nothing — the person-years of done marks are recalculated
    (their open cases one revision on), the pending ones untouched (``before``: the revisions before
    the recalculation). Returns the number of marks done."""
    done, pending = progress()
    assert 0 < done and pending > 0, f"the recalculation was not mid-way at the kill ({done} of {marks} done)"
    assert done % LIMIT == 0, f"{done} marks done: a chunk was half done"
    done_years = set(RecalcMark.objects.filter(done_at__isnull=False).values_list("person_id", "year"))
    recalculated = set(Application.objects.filter(settlements__kind="recalculation").values_list("pk", flat=True))
    adjusted = set(Adjustment.objects.values_list("application_id", flat=True))
    now = revisions()
    for pk, person_id, year, state in Application.objects.values_list("pk", "person_id", "year", "state"):
        is_done = (person_id, year) in done_years
        if state in CALCULABLE_STATES:
            assert now[pk] == before[pk] + is_done, f"case {pk} (mark done: {is_done}) at revision {now[pk]}"
        elif not is_done:
            assert pk not in recalculated and pk not in adjusted, f"case {pk} recalculated, its mark pending"
    return done


def check_invariants(marks: int) -> None:
    assert RecalcMark.objects.count() == marks
    assert not RecalcMark.objects.filter(done_at__isnull=True).exists()
    assert not RecalcMark.objects.filter(failed=True).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT application_id FROM cases_adjustment GROUP BY 1 "
                       "HAVING count(*) > 1) d")
        assert cursor.fetchone()[0] == 0, "a case adjusted twice for one change"
        cursor.execute("SELECT count(*) FROM (SELECT application_id FROM cases_settlement WHERE status = 'current' "
                       "GROUP BY 1 HAVING count(*) > 1) d")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM (SELECT application_id, settlement_hash FROM cases_settlement "
                       "GROUP BY 1, 2 HAVING count(*) > 1) d")
        assert cursor.fetchone()[0] == 0, "the same settlement stored twice"
        cursor.execute("SELECT count(*) FROM (SELECT claim_id, adjustment_id FROM cases_claimallocation "
                       "WHERE adjustment_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d")
        assert cursor.fetchone()[0] == 0, "an adjustment allocated twice to a claim"
    kinds = set(Adjustment.objects.values_list("kind", flat=True))
    assert kinds == {"supplementary", "recovery"}, kinds  # the scenario produces both


def test_a_recalculation_whose_worker_is_killed_twice_ends_as_an_undisturbed_one(workers):
    # 1. Undisturbed.
    marks = build()
    t0 = time.monotonic()
    workers.start()
    start_recalculation()
    workers.wait_for(finished, timeout=300, what="the undisturbed recalculation")
    undisturbed_s = time.monotonic() - t0
    check_invariants(marks)
    expected = {**cases_state(), **marks_state()}
    adjustments = Adjustment.objects.count()
    workers.stop()

    # 2. The same scenario again; the worker killed twice while it recalculates.
    assert build() == marks
    before = revisions()
    t0 = time.monotonic()
    workers.start()
    start_recalculation()
    at_kill = []
    for share in KILL_AT:
        workers.wait_for(lambda share=share: progress()[0] >= share * marks, timeout=300,
                         what=f"{share:.0%} of the marks done")
        workers.kill()
        at_kill.append(check_consistent_mid_way(marks, before))
        workers.start()
    workers.wait_for(finished, timeout=300, what="the recalculation after the kills")
    disturbed_s = time.monotonic() - t0
    check_invariants(marks)
    actual = {**cases_state(), **marks_state()}
    problems = diff(expected, actual)
    assert not problems, "\n".join(problems)
    assert Adjustment.objects.count() == adjustments
    kinds = Counter(Adjustment.objects.values_list("kind", flat=True))
    print(f"{marks} person-years, {adjustments} adjustments {dict(kinds)}; undisturbed {undisturbed_s:.1f} s; "
          f"killed at {at_kill} marks done: {disturbed_s:.1f} s")
