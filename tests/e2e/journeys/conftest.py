"""Fixtures of the role journeys (issue 14, Tests): each journey starts from what ``manage.py
seed_demo`` makes on a fresh start (run in the test, through the live server's database), logs in
as the demo users of one role and does that role's work as a clerk would, in Debian's Chromium.

* one Chromium for all the journeys of this folder (a package-scoped browser);
* every page a journey loads reports its visible text, and the journey fails on any English word
  or code in it (``tests/e2e/english.py``);
* ``shot(page, label)`` keeps a numbered screenshot in ``$PORTAL_ARTIFACTS`` (default
  ``build/e2e-screenshots/``), one folder per journey.
"""
from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, REQUIRE, Shots
from tests.e2e.english import EnglishCheck, install

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="package")
def journey_browser():
    """One Chromium for every journey of the folder. Playwright's sync API keeps an event loop
    running in this thread while the browser lives, and Django refuses ORM calls in such a thread
    unless DJANGO_ALLOW_ASYNC_UNSAFE is set: set while the browser lives, restored afterwards (pytest
    tears this fixture down before any test outside the folder runs)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if REQUIRE:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def demo(journey_browser, live_server, transactional_db, settings, monkeypatch):
    """The database as ``seed_demo`` leaves it on a fresh start (passwords hashed fast for the test)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    return live_server


class Journey:
    """The browser side of one journey: ``as_user(username)`` opens a page logged in as that demo
    user (own cookies); ``shot(page, label)`` keeps a screenshot; the English check runs over every
    page loaded."""

    def __init__(self, browser, base_url: str, shots: Shots):
        self.browser = browser
        self.base_url = base_url
        self.shots = shots
        self.english = EnglishCheck()
        self.contexts = []

    def as_user(self, username: str):
        from portal.demo import DEMO_PASSWORD

        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000},
                                           base_url=self.base_url, accept_downloads=True)
        context.set_default_timeout(15000)
        install(context, self.english)
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))
        return page

    def shot(self, page, label: str) -> Path:
        return self.shots(page, label)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts = []


@pytest.fixture
def journey(demo, journey_browser, request):
    j = Journey(journey_browser, demo.url, Shots(request.node.name))
    yield j
    j.close()
    j.english.assert_clean()


def go(page, url: str):
    """Open ``url`` and wait until it has loaded; fails on an error status."""
    response = page.goto(url)
    page.wait_for_load_state()
    assert response is None or response.status < 400, f"{url}: HTTP {response.status}"
    return page


def submit(page, selector: str = 'form button[type="submit"].btn-primary'):
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state()
    return page


def main_text(page) -> str:
    return page.inner_text("main")
