"""Celery tasks of the enrolment-subsidy part (idempotent; named as they were in the exchange app,
which jobs in the outbox and beat's stored schedule use).

* ``exchange.monthly_subsidy_lists()`` — beat, 1st of each month: every region's list of added and
  exited subsidised people for 财政 / 税务 (due by the 5th, 沧政办规〔2022〕7号 三(一)).
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="exchange.monthly_subsidy_lists", acks_late=True)
def monthly_subsidy_lists() -> list[int]:
    from .services import produce_due_lists

    return [lst.pk for lst in produce_due_lists(acting_user=None)]
