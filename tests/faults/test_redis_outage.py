"""Redis goes down while caseworkers work: the portal keeps serving, says that background work is
delayed, and once Redis is back a real worker does every job that waited — nothing lost.

The broker here is a redis-server of the test's own (it is stopped and started again; the suite's
shared Redis is left alone), and the worker is a real ``celery -A portal worker`` connected to it.
"""
from __future__ import annotations

import shutil
import time
from decimal import Decimal

import pytest
from celery import Celery
from django.db import transaction
from django.urls import reverse

from cases.models import ApplicationState, Settlement
from portal import jobs
from portal.celery import app as portal_celery
from portal.models import OutboxJob
from tests.cases.factories import add_statistics, make_case, make_team
from tests.portal.test_jobs import PrivateRedis

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DELAYED = "后台任务延迟"


def current_settlement(app):
    return Settlement.objects.filter(application=app, status="current").first()


def test_with_redis_down_the_ui_serves_says_work_is_delayed_and_loses_none_of_it(workers, client, settings,
                                                                                monkeypatch):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    server = PrivateRedis()
    server.start()
    broker = f"redis://127.0.0.1:{server.port}/0"
    try:
        # Three draft cases, built before any worker or broker is involved: their set-up jobs run
        # in-process now, so nothing of the set-up reaches a worker later.
        add_statistics()
        team = make_team("360700", prefix="outage")
        eager = portal_celery.conf.task_always_eager
        portal_celery.conf.task_always_eager = True
        try:
            cases = [make_case(team, "draft") for _ in range(3)]
        finally:
            portal_celery.conf.task_always_eager = eager
        Settlement.objects.filter(application__in=cases).delete()  # the settling is the worker's
        assert not OutboxJob.objects.filter(sent_at__isnull=True).exists()

        # The web side sends to the private Redis, failing fast as configured for production.
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        app = Celery("outage", broker=broker)
        app.conf.broker_connection_timeout = 1
        app.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 2}
        app.conf.task_always_eager = False
        monkeypatch.setattr(jobs, "_app", lambda: app)
        settings.CELERY_BROKER_URL = broker
        workers.start(broker_url=broker)
        client.force_login(team.caseworker)

        # Redis is up: the first case is submitted and settled by the worker.
        response = client.post(reverse("cases:case_act", args=[cases[0].pk]),
                               {"action": "submit", "expected_state": "draft"}, follow=True)
        assert response.status_code == 200
        workers.wait_for(lambda: current_settlement(cases[0]), timeout=90, what="the worker to settle case 1")

        # Redis goes down. Two more cases are submitted through the browser's form: each request
        # answers promptly, the case moves on, and its job waits in the outbox.
        server.stop()
        for case in cases[1:]:
            started = time.monotonic()
            response = client.post(reverse("cases:case_act", args=[case.pk]),
                                   {"action": "submit", "expected_state": "draft"}, follow=True)
            assert response.status_code == 200
            assert time.monotonic() - started < 10, "the request waited for the broker"
            case.refresh_from_db()
            assert case.state == ApplicationState.SUBMITTED
        waiting = OutboxJob.objects.filter(sent_at__isnull=True)
        assert sorted(job.args[0] for job in waiting) == sorted(c.pk for c in cases[1:])
        assert all(job.last_error for job in waiting)

        # After the notice delay every page says so; the pages keep working.
        waiting.update(created_at=OutboxJob.objects.order_by("created_at").first().created_at - jobs.DELAY_NOTICE_AFTER * 2)
        for url in (reverse("home"), reverse("cases:queue"), reverse("cases:case", args=[cases[1].pk])):
            page = client.get(url)
            assert page.status_code == 200, url
            assert DELAYED in page.content.decode(), url
        assert current_settlement(cases[1]) is None and current_settlement(cases[2]) is None

        # Redis is back (empty: it kept nothing). The outbox sends what waited, as the beat task
        # does every minute, and the same worker — still running, reconnected — does the work.
        server.start()
        with transaction.atomic():
            sent, pending = jobs.flush()
        assert (sent, pending) == (2, 0)
        for case in cases[1:]:
            settlement = workers.wait_for(lambda case=case: current_settlement(case), timeout=120,
                                          what=f"the worker to settle case {case.pk} after the outage")
            assert settlement.payable == current_settlement(cases[0]).payable == Decimal("9000.00")
        assert DELAYED not in client.get(reverse("home")).content.decode()
        assert OutboxJob.objects.filter(sent_at__isnull=True).count() == 0
        assert Settlement.objects.filter(application__in=cases, status="current").count() == 3
        assert workers.alive(), workers.output()
    finally:
        server.stop()
