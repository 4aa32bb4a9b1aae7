"""Enqueue Celery tasks so that no work is lost when the broker is down (transactional outbox).

    from portal.jobs import enqueue
    enqueue("cases.settle_application", application.pk)

``enqueue`` writes an :class:`~portal.models.OutboxJob` row in the caller's transaction and, once
the transaction commits, hands the task (by its registered name) to Celery. In eager mode (no
``CELERY_BROKER_URL``) the task runs right then, in-process, and its exception propagates. If the
broker cannot be reached the row stays pending, with the attempt and the error recorded;
``flush()`` sends pending rows oldest first and stops at the first one the broker still refuses.
It is run by the ``portal.flush_outbox`` task (every minute from beat, and once when a worker
starts; it also deletes rows sent more than 30 days ago, :func:`purge_sent`) and by
``manage.py flush_outbox``. :func:`delayed_jobs` counts rows unsent for longer than
:data:`DELAY_NOTICE_AFTER`, for the banner that says background work is delayed. Tasks must be
idempotent: a job may be delivered twice (sent, then the row not yet marked when the process died).
"""
from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxJob

log = logging.getLogger(__name__)

# A job still unsent after this long means background work is delayed: the UI says so.
DELAY_NOTICE_AFTER = datetime.timedelta(seconds=30)


def enqueue(task: str, *args, **kwargs) -> OutboxJob:
    job = OutboxJob.objects.create(task=task, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def _app():
    from portal.celery import app

    return app


def _dispatch(job_id: int) -> bool:
    """Hand one job to Celery (or run it, in eager mode). True when it was sent."""
    job = OutboxJob.objects.filter(pk=job_id, sent_at__isnull=True).first()
    if job is None:
        return True
    app = _app()
    if app.conf.task_always_eager:
        OutboxJob.objects.filter(pk=job.pk).update(sent_at=timezone.now(), attempts=job.attempts + 1)
        app.tasks[job.task].apply(args=job.args, kwargs=job.kwargs, throw=True)
        return True
    try:
        app.send_task(job.task, args=job.args, kwargs=job.kwargs, retry=False)
    except Exception as exc:  # the broker is unreachable: keep the job for flush()
        log.warning("broker unreachable, job %s kept in the outbox: %s", job.pk, exc)
        OutboxJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 1, last_error=str(exc)[:2000])
        return False
    OutboxJob.objects.filter(pk=job.pk).update(sent_at=timezone.now(), attempts=job.attempts + 1, last_error="")
    return True


def flush(*, limit: int = 1000) -> tuple[int, int]:
    """Send pending jobs, oldest first. Returns (sent, still pending)."""
    sent = 0
    for job_id in OutboxJob.objects.filter(sent_at__isnull=True).order_by("created_at").values_list("pk", flat=True)[:limit]:
        if not _dispatch(job_id):
            break  # broker still down: try again next time
        sent += 1
    return sent, OutboxJob.objects.filter(sent_at__isnull=True).count()


def delayed_jobs() -> int:
    """How many jobs have waited longer than DELAY_NOTICE_AFTER (0 in eager mode)."""
    if not getattr(settings, "CELERY_BROKER_URL", ""):
        return 0
    cutoff = timezone.now() - DELAY_NOTICE_AFTER
    return OutboxJob.objects.filter(sent_at__isnull=True, created_at__lt=cutoff).count()


def purge_sent(*, older_than: datetime.timedelta = datetime.timedelta(days=30)) -> int:
    deleted, _ = OutboxJob.objects.filter(sent_at__lt=timezone.now() - older_than).delete()
    return deleted
