"""Celery tasks of the exchange part. They take ids, are idempotent and safe to run twice.

* ``exchange.process_push(push_id)`` — check and apply an identity push (enqueued on commit).
* ``exchange.recalculate_marked()`` — recalculate the person-years marked by identity changes and
  retroactive policies (re-enqueues itself while marks remain).

Monitoring's tasks (``exchange.monthly_monitoring``, ``exchange.run_monitoring``) are in
``cases/monitoring/tasks.py``, the subsidy lists' (``exchange.monthly_subsidy_lists``) in
``cases/enrolment/tasks.py``.
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.process_push", acks_late=True)
def process_push(push_id: int) -> str:
    from .pushes.processing import run

    push = run(int(push_id))
    return push.status if push is not None else "missing"


@shared_task(name="exchange.recalculate_marked", acks_late=True)
def recalculate_marked(limit: int = 2000) -> dict:
    from .services.recalc import recalculate_pending

    result = recalculate_pending(limit=int(limit))
    if result["more"] and result["recalculated"] + result["failed"] > 0:
        from portal.jobs import enqueue

        enqueue("exchange.recalculate_marked", limit)
    return result
