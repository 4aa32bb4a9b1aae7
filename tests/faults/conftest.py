"""Real Celery workers that a test can start, SIGKILL in the middle of a job, and start again.

Fault tests run on PostgreSQL + Redis (marked ``postgres`` and ``celery_worker``: skipped without
the services, failing in CI). A worker here is ``celery -A portal worker`` with the prefork pool,
in a process group of its own, so :meth:`Workers.kill` takes down the main process and its pool
child at once with SIGKILL — nothing is shut down cleanly and no message is acknowledged. The
task that was running stays unacknowledged in Redis; the broker hands it out again once
``CELERY_VISIBILITY_TIMEOUT`` seconds have passed (shortened here so the test does not wait an
hour), and the restarted worker runs it again. Tasks are idempotent, so the final state must be
the state of an undisturbed run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.workers import database_url  # noqa: F401  (re-exported for the fault tests)

REPO = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 4  # seconds before an unacknowledged task is redelivered


def purge_broker() -> None:
    """Forget every message (and unacknowledged delivery) in the test's Redis database."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


class Workers:
    """Start, kill and restart real workers; every worker's output goes to a log kept for failures."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.proc: subprocess.Popen | None = None
        self.started = 0
        self.logs: list[Path] = []

    def start(self, *, broker_url: str | None = None) -> subprocess.Popen:
        """Start a worker (on ``broker_url``, default the suite's Redis database)."""
        assert self.proc is None or self.proc.poll() is not None, "a worker is already running"
        self.started += 1
        log = self.tmp_path / f"worker-{self.started}.log"
        self.logs.append(log)
        env = dict(
            os.environ, DATABASE_URL=database_url(), CELERY_BROKER_URL=broker_url or settings.CELERY_BROKER_URL,
            DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_VAR_DIR=str(settings.VAR_DIR),
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", "--concurrency=1",
                 "-l", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
                 "-n", f"fault{self.started}@%h"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self.proc

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as a machine losing power would."""
        assert self.proc is not None and self.proc.poll() is None, "no worker is running:\n" + self.output()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-6000:] for p in self.logs if p.exists())

    def wait_for(self, predicate, *, timeout: float = 120, what: str = "the condition", interval: float = 0.05):
        """Poll ``predicate()`` until it returns something truthy; fail with the workers' logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc is not None and self.proc.poll() is not None and self.proc.returncode not in (None, -9):
                pytest.fail(f"the worker exited with {self.proc.returncode} waiting for {what}\n{self.output()}")
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout} s waiting for {what}\n{self.output()}")


@pytest.fixture
def workers(tmp_path):
    purge_broker()
    manager = Workers(tmp_path)
    yield manager
    manager.stop()
    purge_broker()
