"""Celery tasks of the policies part (take ids, idempotent, safe to run twice).

* ``policies.simulate_part(simulation_id, index)`` — one part of a fund-impact simulation
  (``policies.simulation``); the part that completes the set merges the report.
* ``policies.process_policy_import(import_id)`` — read, validate and import an uploaded policy file
  (``policies.services.receive_policy_file`` stores it and enqueues this).
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


@shared_task(name="policies.process_policy_import", acks_late=True)
def process_policy_import(import_id: int) -> str | None:
    """Read, validate and import a stored policy file (``policies.services.process_policy_import``).
    Returns the import's status."""
    from .services import process_policy_import as process

    result = process(import_id=int(import_id))
    return result.status if result is not None else None
