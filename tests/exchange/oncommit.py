"""Run on-commit callbacks inside a test's transaction (Django's TestCase never commits)."""
from __future__ import annotations

import contextlib

from django.db import connection


@contextlib.contextmanager
def run_on_commit():
    """Like ``django_capture_on_commit_callbacks(execute=True)``, usable from helpers: callbacks
    registered inside the block — and those they register — run when it ends."""
    start = len(connection.run_on_commit)
    try:
        yield
    finally:
        while len(connection.run_on_commit) > start:
            callbacks = connection.run_on_commit[start:]
            del connection.run_on_commit[start:]
            for _sids, func, _robust in callbacks:
                func()
