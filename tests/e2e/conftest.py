"""Browser end-to-end tests: Playwright driving Debian's Chromium (never a downloaded browser)
against pytest-django's live server. Screenshots are kept as artefacts in
``$PORTAL_ARTIFACTS/<sqlite or postgres>/<test>/`` (default ``build/e2e-screenshots/``).

Chromium comes from the apt packages ``chromium`` and ``chromium-driver`` (.ci/run installs
them). Without it these tests skip — or fail when PORTAL_REQUIRE_SERVICES=1 (CI).
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
# One folder per database, so the SQLite and PostgreSQL runs (side by side in CI) keep their own.
ARTIFACTS = (Path(os.environ.get("PORTAL_ARTIFACTS") or Path(__file__).resolve().parents[2] / "build" / "e2e-screenshots")
             / ("postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"))
REQUIRE = os.environ.get("PORTAL_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}



class _InFlight:
    """Requests the live server is still answering. Closing a browser context does not wait for
    them, and with SQLite's in-memory test database the server thread shares the test's connection:
    a request still running while the next test flushes, restores or seeds the database interleaves
    its statements and its commit with theirs (a foreign-key error at commit, seen when ``seed_demo``
    followed another live-server test). :func:`wait_until_idle` waits for them to finish."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def started(self, **kwargs):
        if threading.current_thread() is not threading.main_thread():  # the live server's, not the test client's
            with self.lock:
                self.count += 1

    def finished(self, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            with self.lock:
                self.count = max(0, self.count - 1)


IN_FLIGHT = _InFlight()
request_started.connect(IN_FLIGHT.started, dispatch_uid="e2e-in-flight-started")
request_finished.connect(IN_FLIGHT.finished, dispatch_uid="e2e-in-flight-finished")


def wait_until_idle(timeout: float = 30.0) -> None:
    """Wait until the live server answers no request (after the browser contexts are closed)."""
    deadline = time.monotonic() + timeout
    while IN_FLIGHT.count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not IN_FLIGHT.count, f"the live server still answers {IN_FLIGHT.count} request(s) after {timeout} s"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def browser(monkeypatch):
    """One Chromium per test: Playwright's sync API keeps an event loop running in this thread
    while it lives, and Django refuses ORM calls in such a thread unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set — set here for this test only (a session-wide browser would
    leave it set for every later test, e.g. check --deploy)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium chromium-driver"
        if REQUIRE:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class Shots:
    """Numbered screenshots of one test, kept as artefacts."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page, label: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request):
    return Shots(request.node.name)


@pytest.fixture
def new_page(browser, live_server, transactional_db):
    """Open a fresh browser context (own cookies) in Chinese; ``new_page()`` may be called per user.

    It depends on the database fixture so that its pages close (and stop polling the live server)
    before the database is flushed for the next test.
    """

    contexts = []

    def make():
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000}, base_url=live_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    wait_until_idle()


def login(page, username: str, password: str):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
