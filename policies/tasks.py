"""Celery tasks of the policies part (take ids, idempotent, safe to run twice).

* ``policies.simulate_part(simulation_id, index)`` — one part of a fund-impact simulation
  (``policies.simulation``); the part that completes the set merges the report.
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="policies.simulate_part", acks_late=True)
def simulate_part(simulation_id: int, index: int) -> None:
    from .simulation import service

    try:
        service.run_part(simulation_id=int(simulation_id), index=int(index))
    except Exception as exc:
        service.fail(simulation_id=int(simulation_id), error=f"{type(exc).__name__}: {exc}")
        raise
