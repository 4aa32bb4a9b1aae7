"""Background jobs survive a broker outage: recorded with the change, sent when Redis is back."""
import shutil
import socket
import subprocess
import time

import pytest
import redis
from celery import Celery, shared_task
from django.db import transaction
from django.urls import reverse

from portal import jobs
from portal.models import OutboxJob
from tests.factories import make_user

RUNS: list[int] = []


@shared_task(name="tests.portal.record_run")
def record_run(value):
    RUNS.append(value)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eager_mode_runs_the_job_after_commit_only():
    RUNS.clear()
    with transaction.atomic():
        jobs.enqueue("tests.portal.record_run", 7)
        assert RUNS == []  # nothing runs before the change is committed
    assert RUNS == [7]
    assert OutboxJob.objects.get().sent_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rolled_back_change_sends_nothing():
    RUNS.clear()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            jobs.enqueue("tests.portal.record_run", 8)
            raise RuntimeError("the change failed")
    assert RUNS == [] and OutboxJob.objects.count() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test can stop and start."""

    def __init__(self):
        self.port = _free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def queued(self) -> int:
        return redis.Redis(port=self.port).llen("celery")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redis_down_keeps_the_ui_serving_and_loses_no_job(monkeypatch, client, settings):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery would prefer it to broker=
    app = Celery("outage-test", broker=f"redis://127.0.0.1:{server.port}/0")
    app.conf.broker_connection_timeout = 1
    app.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 2}
    app.conf.task_always_eager = False
    monkeypatch.setattr(jobs, "_app", lambda: app)
    try:
        with transaction.atomic():
            jobs.enqueue("cases.tasks.anything", 1)
        first = OutboxJob.objects.get()
        assert first.sent_at is not None, first.last_error
        assert server.queued() == 1

        server.stop()
        started = time.monotonic()
        with transaction.atomic():
            job = jobs.enqueue("cases.tasks.anything", 2)
        assert time.monotonic() - started < 10  # the request is not stuck behind the broker
        job.refresh_from_db()
        assert job.sent_at is None and job.last_error

        # The UI still serves and says that background work is delayed.
        OutboxJob.objects.filter(pk=job.pk).update(created_at=job.created_at - jobs.DELAY_NOTICE_AFTER * 2)
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{server.port}/0"
        client.force_login(make_user("caseworker"))
        page = client.get(reverse("home"))
        assert page.status_code == 200
        assert "后台任务延迟" in page.content.decode()

        server.start()
        sent, pending = jobs.flush()
        assert (sent, pending) == (1, 0)
        assert server.queued() == 1  # the new server holds exactly the job that waited
        assert "后台任务延迟" not in client.get(reverse("home")).content.decode()
    finally:
        server.stop()
