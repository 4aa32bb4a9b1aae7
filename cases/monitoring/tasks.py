"""Celery tasks of the monitoring part. They take ids, are idempotent and safe to run twice. Their
names are those they had in the exchange app (jobs waiting in the outbox and beat's stored
schedule use them).

* ``exchange.monthly_monitoring()`` — beat, 1st of each month: 因病返贫 / 因病致贫 warnings.
* ``exchange.run_monitoring(run_id)`` — a monitoring run started by hand.
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.monthly_monitoring", acks_late=True)
def monthly_monitoring() -> int:
    from .services import start_run

    run = start_run(acting_user=None, trigger="beat", enqueue=False)
    from .services import execute_run

    execute_run(run_id=run.pk)
    return run.pk


@shared_task(name="exchange.run_monitoring", acks_late=True)
def run_monitoring(run_id: int) -> int:
    from .services import execute_run

    execute_run(run_id=int(run_id))
    return int(run_id)
