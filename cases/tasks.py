"""Celery tasks of the cases part. They take ids, are idempotent and safe to run twice (acks late).

* ``cases.settle_application(application_id, reason="")`` — settle an open case. Enqueued (through
  the outbox, ``portal.jobs.enqueue``, sent after commit) by every change a settlement depends on
  and on submit.
* ``cases.recalculate_person_year(person_id, year, reason="")`` — after a backdated identity or a
  retroactive policy: re-settle open cases, adjust approved ones (see
  ``cases.services.settlement.recalculate_person_year``).
* ``exchange.recalculate_marked(limit=2000)`` — recalculate the person-years marked by identity
  changes and retroactive policies (``cases.services.recalc``; re-enqueues itself while marks
  remain). It keeps the name it had in the exchange app (jobs waiting in the outbox use it).
* ``cases.process_claim_import(import_id)`` — read, check and import a stored claim-import file
  (see ``cases.imports.national``).
* ``cases.apply_bank_return(bank_return_id)`` — read and check a bank's return file, then record
  its good rows, 200 lines per transaction, resuming after the last committed chunk when delivered again (see
  ``cases.services.bank_returns``).
"""
from celery import shared_task

from .services import bank_returns, settlement


@shared_task(name="cases.settle_application", acks_late=True)
def settle_application_task(application_id: int, reason: str = "") -> int | None:
    """Returns the id of the case's current settlement (None when the case is not open)."""
    result = settlement.settle_application(int(application_id), reason=reason)
    return result.pk if result is not None else None


@shared_task(name="cases.recalculate_person_year", acks_late=True)
def recalculate_person_year_task(person_id: int, year: int, reason: str = "") -> dict:
    return settlement.recalculate_person_year(person_id=int(person_id), year=int(year), reason=reason)


@shared_task(name="cases.apply_bank_return", acks_late=True)
def apply_bank_return_task(bank_return_id: int) -> str | None:
    """Returns the return file's status."""
    result = bank_returns.apply_bank_return(bank_return_id=int(bank_return_id))
    return result.status if result is not None else None


@shared_task(name="cases.process_claim_import", acks_late=True)
def process_claim_import_task(import_id: int) -> str | None:
    """Read, check and import a stored claim-import file. Returns the import's status."""
    from .imports.national import process_claim_import

    result = process_claim_import(import_id=int(import_id))
    return result.status if result is not None else None


@shared_task(name="exchange.recalculate_marked", acks_late=True)
def recalculate_marked(limit: int = 2000) -> dict:
    from .services.recalc import recalculate_pending

    result = recalculate_pending(limit=int(limit))
    if result["more"] and result["recalculated"] + result["failed"] > 0:
        from portal.jobs import enqueue

        enqueue("exchange.recalculate_marked", limit)
    return result
