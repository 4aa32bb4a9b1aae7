"""Celery tasks of the cases part. They take ids, are idempotent and safe to run twice (acks late).

* ``cases.settle_application(application_id, reason="")`` — settle an open case. Enqueued (through
  the outbox, ``portal.jobs.enqueue``, sent after commit) by every change a settlement depends on
  and on submit.
* ``cases.recalculate_person_year(person_id, year, reason="")`` — after a backdated identity or a
  retroactive policy: re-settle open cases, adjust approved ones (see
  ``cases.services.settlement.recalculate_person_year``).
* ``cases.apply_bank_return(bank_return_id)`` — record the checked rows of a bank's return file,
  200 lines per transaction, resuming after the last committed chunk when delivered again (see
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
