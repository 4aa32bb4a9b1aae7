"""A day's work of every role, in the browser, on what ``manage.py seed_demo`` makes on a fresh
start (issue 14, Tests): each journey logs in as a demo user, does that role's daily work as a clerk
would, and ends in a result the clerk can see. Every page a journey loads is checked for English
words and codes (``tests/e2e/english.py``); screenshots go to ``$PORTAL_ARTIFACTS``.

The journeys share one seeded server (seeding takes longer than most journeys): the module's
fixture seeds the demo data once, serves it, and afterwards puts the database back as the
migrations left it. Each journey works on demo data no other journey changes, so any one of them
can run alone.
"""
from __future__ import annotations

import datetime
import io
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, REQUIRE, Shots, wait_until_idle
from tests.e2e.english import EnglishCheck, install

# One xdist process runs them all, one after another, on the one seeded server.
pytestmark = pytest.mark.xdist_group("journeys")


def _restore_database() -> None:
    """The database as the migrations left it (what a ``serialized_rollback`` test starts from), and
    no policy book cached from before (SQLite reuses the flushed rows' ids, so a book built on an
    earlier test's policy version could look current: tests/conftest.py's _fresh_policy_books does
    the same for every test, but this module's fixture seeds before that runs)."""
    from django.core.management import call_command
    from django.db import connections

    from policies import bookcache

    for alias in connections:
        connection = connections[alias]
        call_command("flush", verbosity=0, interactive=False, database=alias, reset_sequences=False,
                     inhibit_post_migrate=hasattr(connection, "_test_serialized_contents"))
        if getattr(connection, "_test_serialized_contents", None):
            connection.creation.deserialize_db_from_string(connection._test_serialized_contents)
    bookcache.forget()


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """Chromium and a live server on the seeded demo data, for every journey of the module."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if REQUIRE:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        if getattr(connection, "_test_serialized_contents", None) is None:
            # pytest-django sets up (and serialises) the test database only for a session with a
            # test marked for it: test_demo_data_the_journeys_start_from is that test.
            pytest.fail("the journeys need the serialised test database: run test_demo_data_the_journeys_start_from "
                        "with them (the whole module)", pytrace=False)

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls in such a
    # thread unless told otherwise: set while the browser lives, restored afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    fast_passwords = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast_passwords.enable()
    from portal.celery import app as celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the seeding's tasks (monitoring runs) in-process, as in every test
    try:
        with django_db_blocker.unblock():
            _restore_database()  # whatever an earlier test left, a fresh start
            call_command("seed_demo", stdout=io.StringIO())
            server = LiveServer("localhost")
            server._live_server_modified_settings.enable()
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync"])
                    yield browser, server.url
                    browser.close()
            finally:
                server._live_server_modified_settings.disable()
                server.stop()
                _restore_database()
    finally:
        celery_app.conf.task_always_eager = eager
        fast_passwords.disable()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Journey:
    """``as_user(username)`` opens a page logged in as that demo user (own cookies); ``shot(page,
    label)`` keeps a screenshot; every page loaded reports its visible text to the English check."""

    def __init__(self, browser, base_url: str, shots: Shots):
        self.browser, self.base_url, self.shots = browser, base_url, shots
        self.english = EnglishCheck()
        self.contexts = []

    def as_user(self, username: str):
        from portal.demo import DEMO_PASSWORD

        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000},
                                           base_url=self.base_url, accept_downloads=True)
        context.set_default_timeout(20000)
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
            context.close()  # no page keeps polling the server
        self.contexts = []
        wait_until_idle()  # nor is a request of theirs still running


@pytest.fixture
def journey(site, django_db_blocker, request):
    browser, url = site
    j = Journey(browser, url, Shots(request.node.name))
    with django_db_blocker.unblock():
        try:
            yield j
        finally:
            j.close()
    assert j.english.pages, "no page reported its text"
    j.english.assert_clean()


def go(page, url: str):
    """Open ``url``; fails on an error status."""
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


def act(page, action: str):
    with page.expect_navigation():
        page.click(f'button[data-action="{action}"]')
    page.wait_for_load_state()


def main_text(page) -> str:
    return page.inner_text("main")


def demo_case(name: str):
    from cases.models import Application

    return Application.objects.select_related("person").get(person__name=name, year=2023)


# --- What the journeys start from --------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_demo_data_the_journeys_start_from():
    """``seed_demo`` on a flushed and restored database (as after any other live-server test) makes
    what each journey below starts from; a change of the demo data names the journey it breaks."""
    from django.core.management import call_command

    from cases.exchange.models import IdentityPush
    from cases.models import Application
    from cases.monitoring.models import MonitoringWarning

    call_command("seed_demo", stdout=io.StringIO())
    states = dict(Application.objects.filter(year=2023).values_list("person__name", "state"))
    assert {name: states.get(name) for name in ("赖福生", "曾德华", "钟秀英", "谢建国", "刘小梅", "王建军")} == {
        "赖福生": "draft", "曾德华": "returned",  # caseworker
        "钟秀英": "in_review", "谢建国": "reviewed",  # reviewer, approver
        "刘小梅": "approved", "王建军": "paid",  # payment officer, recovery
    }
    assert MonitoringWarning.objects.filter(person__name="郭春生").exists()  # auditor
    assert IdentityPush.objects.filter(region_id="360700").exists()  # auditor


# --- 经办人: finds a case by part of a name, sees why it came back, submits a draft ---------------------

def test_caseworker(journey):
    page = journey.as_user("gz_caseworker")
    journey.shot(page, "home")
    go(page, "/cases/")
    journey.shot(page, "queue")

    # The returned case shows the return reason at the top.
    returned = demo_case("曾德华")
    go(page, f"/cases/{returned.pk}/")
    assert "请补充住院病历首页和费用清单" in page.inner_text(".page-head ~ *")
    journey.shot(page, "returned-case")

    # Search the persons by part of a name; open the draft case and submit it.
    go(page, "/cases/persons/?q=福生")
    assert "赖福生" in main_text(page)
    draft = demo_case("赖福生")
    go(page, f"/cases/persons/{draft.person_id}/")
    journey.shot(page, "person")
    go(page, f"/cases/{draft.pk}/")
    assert "DEMO-GZ01" in main_text(page)  # 结算ID shows on the case
    journey.shot(page, "draft-case")
    act(page, "submit")
    draft.refresh_from_db()
    assert draft.state == "submitted"
    assert "已受理" in main_text(page)
    journey.shot(page, "submitted")


# --- 审核人: a case in review, its settlement checked, passed ----------------------------------------

def test_reviewer(journey):
    case = demo_case("钟秀英")
    page = journey.as_user("gz_reviewer")
    journey.shot(page, "home")
    go(page, "/cases/")
    assert case.number in main_text(page)
    go(page, f"/cases/{case.pk}/")
    body = main_text(page)
    assert "DEMO-GZ02" in body and "DEMO-GZ03" in body
    journey.shot(page, "case-in-review")
    act(page, "pass")
    case.refresh_from_db()
    assert case.state == "reviewed"
    journey.shot(page, "passed")
    # Four eyes: the approver's action is not offered to the reviewer, and the case says why.
    assert not page.locator('button[data-action="approve"]').count()


# --- 审批人: the 待审批 queue, a reviewed case approved --------------------------------------------------

def test_approver(journey):
    case = demo_case("谢建国")
    page = journey.as_user("gz_approver")
    journey.shot(page, "home")
    go(page, "/cases/")
    assert case.number in main_text(page)
    journey.shot(page, "queue")
    go(page, f"/cases/{case.pk}/")
    journey.shot(page, "case-reviewed")
    act(page, "approve")
    case.refresh_from_db()
    assert case.state == "approved"
    assert "已审批" in page.inner_text(".page-head")
    journey.shot(page, "approved")


# --- 支付经办: batch, bank file, bank's result, the paid case's slip ---------------------------------

def test_payment_officer(journey):
    case = demo_case("刘小梅")
    page = journey.as_user("gz_payment")
    journey.shot(page, "home")
    go(page, "/cases/payments/")
    journey.shot(page, "to-pay")
    page.check(f'input[name="application_ids"][value="{case.pk}"]')
    with page.expect_navigation():
        page.click('button[name="mode"][value="selected"]')
    assert re.search(r"/cases/payments/batches/\d+/$", page.url), page.url
    journey.shot(page, "batch")
    with page.expect_download() as download:
        page.click('a[href$="export.csv"]')
    bank_file = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert case.person.id_number in bank_file
    page.reload()
    page.select_option('select[name^="outcome-"]', "paid")
    page.fill('input[name^="reference-"]', "BANK-2023-0099")
    submit(page, 'button:has-text("登记银行")')
    journey.shot(page, "confirm-results")
    submit(page, 'input[name="confirmed"] ~ div.actions button[type="submit"]')
    case.refresh_from_db()
    assert case.state == "paid"
    journey.shot(page, "batch-done")
    go(page, f"/cases/{case.pk}/slip/")
    assert "赣市府办字〔2022〕112号" in main_text(page)
    journey.shot(page, "slip")
    go(page, "/cases/payments/batches/")
    go(page, "/cases/payments/lines/")
    line = page.locator("tr", has_text=case.number).first.inner_text()
    assert "已支付" in line and "12,000.00" in line
    journey.shot(page, "payment-lines")


# --- 部门联络员: a list of identities pushed as a file, its report, the monitoring warnings -----------------

def test_liaison(journey):
    from cases.identity_numbers import compose
    from cases.models import Identity

    number = compose("360702", datetime.date(1980, 2, 2), 919)
    page = journey.as_user("gz_civil")
    journey.shot(page, "home")
    go(page, "/exchange/pushes/new/")
    journey.shot(page, "push-form")
    content = ("身份证号码,姓名,类别,操作,生效日期,文号,行政区划\n"
               f"{number},邱春花,低保对象,新增,2023-02-01,章民字〔2023〕9号,360702\n"
               "36070219800202000,无效号码,低保对象,新增,2023-02-01,章民字〔2023〕9号,360702\n").encode()
    page.set_input_files('input[name="file"]', files=[{"name": "低保新增.csv", "mimeType": "text/csv", "buffer": content}])
    submit(page)
    assert re.search(r"/exchange/pushes/\d+/$", page.url), page.url
    page.wait_for_selector(".push-progress:not([hx-get])")
    page.reload()
    journey.shot(page, "push-report")
    assert "身份证号码应为18位" in main_text(page)  # the bad row comes back with its reason
    assert Identity.objects.filter(person__id_number=number, category="dibao").exists()
    journey.shot(page, "push-report")
    go(page, "/exchange/pushes/")
    go(page, "/exchange/confirmations/")
    journey.shot(page, "confirmations")


# --- 政策管理员: the policy in force, the statistics, the monitoring runs, a what-if --------------------------

def test_policy_admin(journey):
    from policies.models import PolicyVersion

    version = PolicyVersion.objects.get(region_id="360700", status="published")
    page = journey.as_user("gz_policy")
    journey.shot(page, "home")
    go(page, "/policies/")
    go(page, f"/policies/versions/{version.pk}/")
    assert "赣市府办字〔2022〕112号" in main_text(page)
    journey.shot(page, "version")
    go(page, "/policies/statistics/")
    journey.shot(page, "statistics")
    go(page, "/exchange/monitoring/")
    assert "服务器命令" in main_text(page)  # who started the demo runs, in words
    journey.shot(page, "monitoring-runs")

    # What-if of the 赣州 class-2 worked example.
    import json

    from django.conf import settings

    example = (settings.SHARED_DIR / "spec/examples/ganzhou_class2_annual_cap.input.json").read_text()
    go(page, "/policies/whatif/")
    page.select_option("select[name=version_a]", str(version.pk))
    page.click("text=导入：粘贴结算输入")
    page.fill("textarea[name=pasted]", json.dumps(json.loads(example), ensure_ascii=False))
    submit(page, "button:has-text('据此填写各行')")
    submit(page, "button:has-text('测算')")
    page.wait_for_selector("text=合计")
    journey.shot(page, "what-if")
    assert "合计" in main_text(page)


# --- 稽核: reads a region's cases, pushes, warnings and the audit log; changes nothing ------------------

def test_auditor(journey):
    page = journey.as_user("jx_auditor")
    journey.shot(page, "home")
    go(page, "/cases/")
    paid = demo_case("刘小梅")
    go(page, f"/cases/{paid.pk}/")
    assert not page.locator("button[data-action]").count()  # reads, changes nothing
    journey.shot(page, "case")
    go(page, "/exchange/pushes/")
    push = page.locator('table a[href^="/exchange/pushes/"]').first
    with page.expect_navigation():
        push.click()
    assert "逐行处理" in main_text(page) or "数据库批量处理" in main_text(page)  # how it was processed, in words
    journey.shot(page, "push")
    go(page, "/exchange/warnings/")
    warning = page.locator('table a[href^="/exchange/warnings/"]').first
    with page.expect_navigation():
        warning.click()
    assert "郭春生" in main_text(page)
    assert "DEMO-GZ09" in main_text(page)  # the claim that crossed the line, by its settlement id
    journey.shot(page, "warning")
    go(page, "/exchange/monitoring/")
    # The change log: every old → new value in words (departments, regions, categories, where an
    # identity came from, money, a push's file by its name), checked by the English check on
    # PostgreSQL, where the history is recorded; the pushes, identities and cases pages of it too.
    go(page, "/audit/")
    journey.shot(page, "audit-log")
    for kind in ("push", "push_row", "identity", "application", "settlement_line", "payment_line"):
        go(page, f"/audit/?kind={kind}")
    journey.shot(page, "audit-log-identities")
    go(page, "/audit/id-number-views/")
    journey.shot(page, "id-number-views")
    go(page, "/audit/bank-accounts/")
    # The case list exported as the auditor filtered it (masked numbers; the export is recorded).
    # (filtered by the person's name: her case is approved, or paid once the payment journey ran)
    go(page, "/cases/?q=刘小梅")
    with page.expect_download() as download:
        page.click('a[data-export]')
    assert download.value.suggested_filename.endswith(".xlsx")
    # ... and the export is on record, its filter in the list's own words
    go(page, "/audit/list-exports/")
    assert "刘小梅" in page.locator("table tbody tr").first.inner_text()
    journey.shot(page, "list-exports")


# --- 追回: a paid case whose identity the department withdraws; the person repays part, the rest is
# deducted from a later payment of the same person ------------------------------------------------------

def _later_case(person, *, year: int = 2026):
    """The person's case of a later year, approved by 沧州's reviewer and approver (the workflow has
    journeys of its own; the department's push of the journey gave the person 低保 from that year)."""
    from types import SimpleNamespace

    from django.contrib.auth import get_user_model

    from tests.cases.factories import ClaimFactory, make_case

    users = get_user_model().objects
    team = SimpleNamespace(region="130900", **{role: users.get(username=f"cz_{name}") for role, name in (
        ("caseworker", "caseworker"), ("reviewer", "reviewer"), ("reviewer2", "reviewer2"), ("approver", "approver"),
        ("payment", "payment"))})
    claim = ClaimFactory(person=person, date=datetime.date(year, 3, 10), setl_id=f"DEMO-CZ-{year}",
                         hospital_name="沧州市中心医院", total=Decimal("20000.00"), policy_scope=Decimal("20000.00"),
                         basic_paid=Decimal("10000.00"), critical_paid=Decimal("0.00"))
    return make_case(team, "approved", person=person, claims=[claim], year=year)


def test_recovery(journey):
    from cases.models import Adjustment

    paid = demo_case("王建军")
    assert paid.state == "paid"
    liaison = journey.as_user("cz_civil")
    go(liaison, "/exchange/pushes/new/")
    content = ("身份证号码,姓名,类别,操作,生效日期,文号\n"
               f"{paid.person.id_number},王建军,低保边缘家庭成员,退出,2022-12-31,沧民字〔2023〕21号\n"
               f"{paid.person.id_number},王建军,低保对象,新增,2026-01-01,沧民字〔2026〕3号\n").encode()
    liaison.set_input_files('input[name="file"]', files=[{"name": "退出.csv", "mimeType": "text/csv", "buffer": content}])
    submit(liaison)
    liaison.wait_for_selector(".push-progress:not([hx-get])")
    liaison.reload()
    # the summary words what each row did
    assert "新增身份 1 行，变更已有身份 1 行" in main_text(liaison)
    journey.shot(liaison, "exit-pushed")
    recovery = Adjustment.objects.get(application=paid, kind="recovery")
    owed = -recovery.amount
    assert owed > Decimal("1000.00")
    rest = Decimal("1000.00")

    officer = journey.as_user("cz_payment")
    go(officer, "/cases/payments/recoveries/")
    row = officer.locator(f"#recovery-{recovery.pk}")
    assert "低保边缘家庭成员 → —" in row.inner_text()  # the reason in words: which identity changed
    journey.shot(officer, "recoveries")
    # The person repays all but 1 000.00 at the counter.
    row.locator('input[name="amount"]').first.fill(str(owed - rest))
    row.locator('input[name="repaid_on"]').fill("2024-03-01")
    row.locator('input[name="receipt_number"]').fill("SK-2024-0007")
    with officer.expect_navigation():
        row.locator("button:has-text('登记')").first.click()
    journey.shot(officer, "repaid")
    go(officer, f"/cases/{paid.pk}/")
    body = main_text(officer)
    assert f"{owed:,.2f}" in body
    # the recalculation says what is owed back, not a negative amount still to pay (issue 14 item 1)
    assert "多付部分须由本人退回" in body and "还应支付 -" not in body
    journey.shot(officer, "case-money")
    from cases.services import recoveries

    assert recoveries.outstanding(recovery) == rest

    # The rest is deducted from his next payment: the officer's batch shows the deduction, the bank
    # file carries only the net amount (no negative or zero line).
    later = _later_case(paid.person)
    gross = later.amount_approved
    assert gross > rest
    go(officer, "/cases/payments/")
    officer.check(f'input[name="application_ids"][value="{later.pk}"]')
    with officer.expect_navigation():
        officer.click('button[name="mode"][value="selected"]')
    assert re.search(r"/cases/payments/batches/\d+/$", officer.url), officer.url
    line = officer.locator("table.batch-lines tr", has_text=later.number).first.inner_text()
    assert f"{gross:,.2f}" in line and f"−{rest:,.2f}" in line and f"{gross - rest:,.2f}" in line, line
    journey.shot(officer, "batch-with-deduction")
    with officer.expect_download() as download:
        officer.click('a[href$="export.csv"]')
    import csv

    bank_rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    amount_at = bank_rows[0].index("金额（元）")
    amounts = [Decimal(r[amount_at].replace(",", "")) for r in bank_rows[1:]]
    assert amounts and all(a > 0 for a in amounts), amounts  # never a negative or zero line
    assert gross - rest in amounts
    officer.reload()
    officer.select_option('select[name^="outcome-"]', "paid")
    officer.fill('input[name^="reference-"]', "BANK-2026-0031")
    submit(officer, 'button:has-text("登记银行")')
    submit(officer, 'input[name="confirmed"] ~ div.actions button[type="submit"]')
    later.refresh_from_db()
    assert later.state == "paid"
    assert recoveries.outstanding(recovery) == Decimal("0.00")
    # The later case's slip shows the deduction: which case's recovery, and what was paid after it.
    go(officer, f"/cases/{later.pk}/slip/")
    deductions = officer.inner_text(".slip-deductions")
    assert paid.number in deductions and f"−{rest:,.2f}" in deductions and f"{gross - rest:,.2f}" in deductions
    journey.shot(officer, "slip-with-deduction")
    # The case of 2023 shows what was paid, what is owed back and what has been recovered.
    go(officer, f"/cases/{paid.pk}/")
    money = officer.inner_text("#case-money")
    assert "银行已支付" in money, money
    assert re.search(rf"应追回\s*{re.escape(f'{owed:,.2f}')}", money), money
    assert re.search(rf"已追回\s*{re.escape(f'{owed:,.2f}')}", money), money  # repaid and deducted
    assert re.search(r"尚欠追回\s*0\.00", money), money
    assert "SK-2024-0007" in money  # the repayment's receipt, and the deduction's batch
    journey.shot(officer, "case-money-after-offset")
