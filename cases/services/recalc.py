"""Recalculation after an identity or a policy changed (domain.md "Cross-department exchange").

An identity change (push, confirmation) or a retroactive policy version marks the person-years it
can alter — set-based: only person-years that have cases (open or approved) are marked; a
person-year without a case has nothing to recalculate (monitoring settles it on the fly). The task
``exchange.recalculate_marked`` (:func:`recalculate_pending`, ``cases/tasks.py``; the task kept the
name it had in the exchange app) then takes the pending marks ``BATCH``
at a time (``FOR UPDATE SKIP LOCKED``, so several worker processes share them) and recalculates each
batch in one transaction with the cases part's ``recalc_batch.recalculate_person_years`` — the
set-based reading and writing around the settlement planner (``cases.services.planner``) that
``settlement.recalculate_person_year`` uses one person-year at a time; a batch that fails is done
again one person-year at a time, so only the failing one is recorded as failed. Open cases are
settled again; for approved and paid cases the exact difference becomes one 补发 / 追回 adjustment,
once per settlement basis, so nothing is paid twice however often a mark is processed.

A person-year is pending at most once (partial unique index), so marking the same change twice
does not recalculate twice.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from portal.regions.codes import scope_prefix

from ..models import RecalcMark

log = logging.getLogger(__name__)
BATCH = 200


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def mark_person_years(*, ranges: Iterable[tuple[int, int, int]], reason: str) -> int:
    """Mark the person-years with cases among ``(person_id, first_year, last_year)`` ranges.
    Returns how many (person, year) pairs now wait for recalculation because of this call."""
    from cases.models import Application

    wanted: dict[int, list[tuple[int, int]]] = {}
    for person_id, first, last in ranges:
        wanted.setdefault(int(person_id), []).append((int(first), int(last)))
    if not wanted:
        return 0
    pairs: set[tuple[int, int]] = set()
    ids = list(wanted)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        lo = min(f for pid in chunk for f, _ in wanted[pid])
        for person_id, year in (Application.objects.filter(person_id__in=chunk, year__gte=lo)
                                .values_list("person_id", "year").distinct()):
            if any(f <= year <= t for f, t in wanted[person_id]):
                pairs.add((person_id, year))
    if not pairs:
        return 0
    RecalcMark.objects.bulk_create(
        [RecalcMark(person_id=p, year=y, reason=reason[:120]) for p, y in sorted(pairs)],
        ignore_conflicts=True, batch_size=1000,
    )
    return len(pairs)


def mark_region_from(*, region_code: str, since: datetime.date, reason: str, until_year: int | None = None) -> int:
    """Mark every person-year of the region (and below) with a case and a claim dated on or after
    ``since`` (of years up to ``until_year``) — one INSERT … SELECT. Returns the number of
    person-years now pending."""
    from cases.models import Application, Claim

    app, claim, mark = _table(Application), _table(Claim), _table(RecalcMark)
    prefix = scope_prefix(region_code) + "%"
    before = RecalcMark.objects.filter(done_at__isnull=True).count()
    year_expr = "EXTRACT(YEAR FROM c.date)" if connection.vendor == "postgresql" else "CAST(strftime('%%Y', c.date) AS INTEGER)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {mark} (person_id, year, reason, created_at, outcome, failed)
            SELECT DISTINCT a.person_id, a.year, %s, %s, '', %s
              FROM {app} a
             WHERE a.region_id LIKE %s AND a.year >= %s AND a.year <= %s
               AND EXISTS (SELECT 1 FROM {claim} c
                            WHERE c.person_id = a.person_id AND c.date >= %s AND {year_expr} = a.year)
            ON CONFLICT DO NOTHING
            """,
            [reason[:120], timezone.now(), False, prefix, since.year, until_year or 9999, since],
        )
    return RecalcMark.objects.filter(done_at__isnull=True).count() - before


def enqueue_pending() -> None:
    """Start the recalculation after the current transaction commits (through the outbox):
    ``EXCHANGE_RECALC_PARALLEL`` tasks (default 2) that share the marks (each takes its batches
    ``FOR UPDATE SKIP LOCKED``) and re-enqueue themselves while marks remain, so a large
    recalculation uses that many worker processes. One in eager mode, where they would only run
    one after the other."""
    from django.conf import settings

    from portal.celery import app
    from portal.jobs import enqueue

    parallel = 1 if app.conf.task_always_eager else max(1, int(getattr(settings, "EXCHANGE_RECALC_PARALLEL", 2)))
    for _ in range(parallel):
        enqueue("exchange.recalculate_marked")


def recalculate_pending(*, limit: int = 5000) -> dict:
    """Recalculate up to ``limit`` pending person-years (oldest first). Returns counts.

    The marks are taken ``BATCH`` at a time and recalculated set-based
    (``cases.services.recalc_batch.recalculate_person_years`` around ``cases.services.planner``:
    one transaction per batch, in which
    the marks are marked done too — a worker killed half-way leaves the batch pending, never half
    done). If a batch fails, its marks are recalculated one by one, so that only the failing
    person-year is recorded as failed."""
    from cases.services.recalc_batch import recalculate_person_years

    done = adjustments = failed = 0
    while done + failed < limit:
        d, a, f = _recalculate_next_batch(min(BATCH, limit - done - failed), recalculate_person_years)
        if not d + f:
            break
        done, adjustments, failed = done + d, adjustments + a, failed + f
    more = RecalcMark.objects.filter(done_at__isnull=True).exists()
    return {"recalculated": done, "adjustments": adjustments, "failed": failed, "more": more}


def _recalculate_next_batch(size: int, recalculate_person_years) -> tuple[int, int, int]:
    """Take the next ``size`` pending marks and recalculate them; returns (done, adjustments, failed).

    The marks are locked (``FOR UPDATE SKIP LOCKED``) in the transaction that recalculates them and
    marks them done, so workers running at once take different marks instead of waiting for each
    other's cases and doing the same work twice."""
    with transaction.atomic():
        # Ordered as the (done_at, id) index is: with statistics taken while most marks were pending, an
        # ORDER BY id alone is planned as a primary-key scan filtering out every mark already done —
        # each batch then reads all the done marks again (quadratic over a large recalculation).
        batch = list(RecalcMark.objects.filter(done_at__isnull=True).order_by("done_at", "id")
                     .select_for_update(skip_locked=True)[:size])
        if not batch:
            return 0, 0, 0
        items = [(mark.person_id, mark.year, mark.reason) for mark in batch]
        counts: dict[int, int] = {}

        def mark_done(pairs, results):
            now = timezone.now()
            by_outcome: dict[str, list[int]] = {}
            for mark in batch:
                result = results[(mark.person_id, mark.year)]
                n = len(result["adjustments"])
                counts[mark.pk] = n
                outcome = f"settled {len(result['settled'])}, adjustments {n}"
                by_outcome.setdefault(outcome, []).append(mark.pk)
            for outcome, ids in by_outcome.items():
                RecalcMark.objects.filter(pk__in=ids, done_at__isnull=True).update(done_at=now, outcome=outcome)

        try:
            recalculate_person_years(items, chunk_size=len(items), on_chunk=mark_done)
        except Exception:  # noqa: BLE001 - one by one, to find and record the person-year that fails
            log.exception("batch recalculation of %d person-years failed; recalculating them one by one", len(batch))
            return _recalculate_one_by_one(batch)
        return len(batch), sum(counts.values()), 0


def _recalculate_one_by_one(batch) -> tuple[int, int, int]:
    from cases.services.settlement import recalculate_person_year

    done = adjustments = failed = 0
    for mark in batch:
        try:
            result = recalculate_person_year(person_id=mark.person_id, year=mark.year, reason=mark.reason)
        except Exception as exc:  # noqa: BLE001 - recorded on the mark; the others go on
            log.exception("recalculation of person %s year %s failed", mark.person_id, mark.year)
            RecalcMark.objects.filter(pk=mark.pk, done_at__isnull=True).update(
                done_at=timezone.now(), failed=True, outcome=f"{type(exc).__name__}: {exc}"[:2000]
            )
            failed += 1
            continue
        n = len(result.get("adjustments") or [])
        adjustments += n
        RecalcMark.objects.filter(pk=mark.pk, done_at__isnull=True).update(
            done_at=timezone.now(),
            outcome=f"settled {len(result.get('settled') or [])}, adjustments {n}",
        )
        done += 1
    return done, adjustments, failed
