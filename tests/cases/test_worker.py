"""With a real Celery worker (Redis, PostgreSQL): submitting a case commits an outbox job that a
worker process picks up and settles; running it again changes nothing."""
import time
from decimal import Decimal
from pathlib import Path

import pytest

from cases.models import Settlement
from cases.services import workflow
from tests.cases.factories import add_statistics, make_case, make_team

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_worker_settles_the_submitted_case(worker, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    add_statistics()
    team = make_team("360700", prefix="wk")
    app = make_case(team, "draft")
    Settlement.objects.filter(application=app).delete()  # make_case settles in-process; let the worker do it
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        app.refresh_from_db()
        current = Settlement.objects.filter(application=app, status="current", revision=app.calc_revision).first()
        if current is not None:
            break
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
    else:
        pytest.fail("the worker did not settle the case within 60 s")
    assert current.payable == Decimal("9000.00")
    assert Settlement.objects.filter(application=app).count() == 1
