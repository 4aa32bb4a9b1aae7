"""Celery tasks of the exchange part. They take ids, are idempotent and safe to run twice.

* ``exchange.process_push(push_id)`` — check and apply an identity push (enqueued on commit).

Monitoring's tasks (``exchange.monthly_monitoring``, ``exchange.run_monitoring``) are in
``cases/monitoring/tasks.py``, the subsidy lists' (``exchange.monthly_subsidy_lists``) in
``cases/enrolment/tasks.py``, the recalculation's (``exchange.recalculate_marked``) in
``cases/tasks.py``.
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.process_push", acks_late=True)
def process_push(push_id: int) -> str:
    from .pushes.processing import run

    push = run(int(push_id))
    return push.status if push is not None else "missing"
