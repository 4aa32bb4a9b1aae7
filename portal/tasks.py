from celery import shared_task
from celery.signals import worker_ready


@shared_task(name="portal.flush_outbox")
def flush_outbox() -> dict:
    from .jobs import flush, purge_sent

    sent, pending = flush()
    purge_sent()
    return {"sent": sent, "pending": pending}


@worker_ready.connect
def _flush_when_a_worker_starts(sender=None, **kwargs):
    flush_outbox.delay()
