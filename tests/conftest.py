"""Fixtures and service markers shared by the whole suite.

Tests marked ``postgres`` need ``DATABASE_URL=postgres://…``; tests marked ``celery_worker`` need
``CELERY_BROKER_URL=redis://…``. Without those services such tests are skipped — unless
``PORTAL_REQUIRE_SERVICES=1`` (set by CI), in which case they fail, so a missing service is never
mistaken for a pass.
"""
from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("PORTAL_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def _missing_service(item) -> str | None:
    from django.conf import settings

    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("celery_worker") and not settings.CELERY_BROKER_URL:
        return "needs Redis and a Celery worker: set CELERY_BROKER_URL=redis://…"
    return None


def pytest_configure(config):
    # WhiteNoise warns on every request when STATIC_ROOT does not exist (no collectstatic in tests)
    from django.conf import settings

    os.makedirs(settings.STATIC_ROOT, exist_ok=True)
    _serialize_without_history()


def _serialize_without_history():
    """``serialized_rollback`` reloads what the migrations wrote by saving each object again; the
    history tables (django-pghistory events) are append-only on PostgreSQL, so saving a history row
    that a data migration caused (e.g. the seeded worked examples) is refused. The history is not
    what those tests restore: leave it out of the serialised copy."""
    import json

    from django.apps import apps
    from django.db.backends.base.creation import BaseDatabaseCreation
    from pghistory.models import Event

    if getattr(BaseDatabaseCreation.serialize_db_to_string, "without_history", False):
        return
    original = BaseDatabaseCreation.serialize_db_to_string

    def serialize_db_to_string(self):
        history = {m._meta.label_lower for m in apps.get_models() if issubclass(m, Event)}
        return json.dumps([o for o in json.loads(original(self)) if o["model"] not in history])

    serialize_db_to_string.without_history = True
    BaseDatabaseCreation.serialize_db_to_string = serialize_db_to_string


def pytest_collection_modifyitems(config, items):
    # Under pytest-xdist (scripts/test runs with -n auto --dist loadgroup) the tests that drive a
    # real Celery worker share one broker queue, and the fault tests stop Redis and kill workers:
    # they all run in one xdist process, one after another.
    # scripts/test with the services runs them in a phase of their own, after the others, alone
    # (PORTAL_TEST_PHASE=serial), so their timeouts never race the rest of the suite for the CPU.
    phase = os.environ.get("PORTAL_TEST_PHASE", "")
    keep, dropped = [], []
    for item in items:
        serial = bool(item.get_closest_marker("celery_worker")) or "tests/faults/" in item.nodeid
        if serial:
            item.add_marker(pytest.mark.xdist_group("services"))
        if phase and (phase == "serial") != serial:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"PORTAL_REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _celery_eager_unless_worker(request):
    """Tasks run in-process unless the test drives a real worker."""
    try:
        from portal.celery import app
    except ImportError:  # pure tests run with -p no:django
        yield
        return

    if request.node.get_closest_marker("celery_worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_policy_books():
    """Each test starts with an empty policy-book cache. A test's rolled-back transaction takes its
    policy changes away without a save signal, and SQLite then reuses their ids, so a book cached
    by an earlier test could look current to a later one (seen as the simulation's totals differing
    only in the whole suite's order)."""
    try:
        from policies import bookcache
    except ImportError:  # pure tests run with -p no:django
        yield
        return
    bookcache.forget()
    yield


@pytest.fixture
def user_factory(db):
    from tests.factories import make_user

    return make_user


@pytest.fixture
def worker():
    """A real Celery worker (solo pool) on this test's database and broker, stopped afterwards."""
    from tests.workers import start_worker, stop_worker

    proc = start_worker()
    yield proc
    stop_worker(proc)
