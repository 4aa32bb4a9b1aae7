"""Real Celery workers for the tests that need one (``@pytest.mark.celery_worker``): the
``worker`` fixture (tests/conftest.py) starts one on the test's own database and broker."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the test database this process uses (the worker must use the same one)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=database_url(), CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
                DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_VAR_DIR=str(settings.VAR_DIR), **extra)


def start_worker(*, pool: str = "solo", log=subprocess.PIPE, name: str | None = None, **env: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "celery", "-A", "portal", "worker", f"--pool={pool}", "--concurrency=1",
            "-l", "WARNING" if log is subprocess.PIPE else "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle"]
    if name:
        args += ["-n", name]
    return subprocess.Popen(args, cwd=REPO, env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
