"""Fixtures of the security tests.

``world`` is built once per test module inside an outer transaction that is rolled back when the
module is done (each test then runs in its own savepoint, as usual with ``db``), so the matrix can
ask thousands of questions of one world without rebuilding it and leaves nothing behind.
"""
from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.test.utils import override_settings

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    import cases.tasks  # noqa: F401  (the jobs the services enqueue by name)
    from policies import bookcache
    from portal.celery import app

    from .world import build_world

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with django_db_blocker.unblock():
        atomics = {alias: transaction.atomic(using=alias) for alias in connections}
        for atomic in atomics.values():
            atomic.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
                built = build_world()
        except BaseException:
            _roll_back(atomics)
            raise
    app.conf.task_always_eager = eager
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            _roll_back(atomics)
            bookcache.forget()


def _roll_back(atomics) -> None:
    for alias, atomic in reversed(list(atomics.items())):
        transaction.set_rollback(True, using=alias)
        atomic.__exit__(None, None, None)
