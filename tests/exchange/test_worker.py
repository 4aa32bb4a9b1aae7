"""A real Celery worker picks up a push from the outbox after commit and processes it, while the
status the browser polls moves to done."""
import io
import time
from pathlib import Path

import pytest

from cases.exchange.models import IdentityPush
from cases.exchange.services.pushes import receive_file
from cases.models import Identity
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_worker_applies_the_push(worker):
    liaison = civil_liaison("360702")
    n = new_number()
    push, created = receive_file(acting_user=liaison, department="civil_affairs", region_code="360702",
                                 fileobj=io.BytesIO(csv_bytes([[n, "张三", "低保", "新增", "2024-01-05", "文", ""]])),
                                 filename="worker.csv")
    assert created
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        push.refresh_from_db()
        if push.status in ("done", "failed"):
            break
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
    assert push.status == "done", push.failure
    assert push.engine == "postgres" and push.progress == 100
    assert Identity.objects.get(person__id_number=n).source == f"push:{push.pk}"
    assert IdentityPush.objects.count() == 1
