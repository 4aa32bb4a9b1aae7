"""The cases pages in a real browser (Playwright on Debian's Chromium, as tests/e2e): what htmx
does — the identity number read while it is typed, the settlement block polling until the
calculation is done, the full number shown on request — and the return-with-a-reason box."""
from __future__ import annotations

import datetime
import re

import pytest

from cases.identity_numbers import compose
from cases.models import Application, IdNumberView, Person
from cases.services import settlement
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.e2e.conftest import browser, login, new_page, shots  # noqa: F401  (fixtures)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def gz(fast_passwords):
    from policies import bookcache

    bookcache.forget()
    add_statistics()
    yield make_team("360700", prefix="e2e")
    bookcache.forget()


def test_registering_reads_the_identity_number_as_it_is_typed(new_page, shots, gz):
    page = new_page()
    login(page, gz.caseworker.username, PASSWORD)
    page.goto("/cases/persons/new/")
    number = compose("360731", datetime.date(1975, 8, 15), 242)
    page.fill("#id_id_number", number[:-1])
    page.type("#id_id_number", number[-1])
    page.wait_for_selector("#id-facts .derived")
    facts = page.inner_text("#id-facts")
    assert "女" in facts and "1975-08-15" in facts
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    page.fill("#id_id_number", wrong)
    page.press("#id_id_number", "Tab")
    page.wait_for_selector("#id-facts .errorlist-inline")
    assert "校验码" in page.inner_text("#id-facts")
    shots(page, "wrong-check-character")
    page.fill("#id_id_number", number)
    page.fill("#id_name", "钟秀英")
    page.select_option("#id_region_code", "360731")
    page.fill("#id_bank_account", "6217000011112222")
    page.click("button:has-text('登记')")
    page.wait_for_url(re.compile(r".*/cases/persons/\d+/$"))
    shots(page, "registered")
    person = Person.objects.get(id_number=number)
    assert person.sex == "F" and "钟秀英 已登记" in page.inner_text(".messages")


def test_the_settlement_block_polls_until_the_calculation_is_done(new_page, shots, gz):
    person = person_with_identity()
    app = make_case(gz, "draft", person=person, claims=[ClaimFactory(person=person)])
    Application.objects.filter(pk=app.pk).update(calc_revision=app.calc_revision + 5)  # as if inputs just changed
    page = new_page()
    login(page, gz.caseworker.username, PASSWORD)
    page.goto(f"/cases/{app.pk}/")
    assert page.is_visible(".calculating")
    shots(page, "calculating")
    settlement.settle_application(app.pk, reason="e2e")  # the worker finishes
    page.wait_for_selector(".payable", timeout=15000)  # htmx polled, then reloaded the page
    assert not page.is_visible(".calculating")
    shots(page, "settled")


def test_a_reviewer_sees_the_full_number_on_request_and_returns_with_a_reason(new_page, shots, gz):
    app = make_case(gz, "in_review")
    page = new_page()
    login(page, gz.reviewer.username, PASSWORD)
    page.goto(f"/cases/{app.pk}/")
    assert app.person.id_number not in page.content()
    page.fill(f"#reveal-reason-{app.person.pk}", "核对申请人身份")  # the reason is recorded (issue 13)
    page.click(f"#id-number-{app.person.pk} button[type=submit]")
    page.wait_for_selector(".id-full")
    assert page.inner_text(".id-full") == app.person.id_number
    view = IdNumberView.objects.get(person=app.person, user=gz.reviewer)
    assert view.reason == "核对申请人身份"
    page.click("summary:has-text('退回补正')")
    page.fill("#id_return-comment", "请补充住院费用清单")
    shots(page, "return-reason")
    page.click("#form-return button[type=submit]")
    page.wait_for_selector(".messages")
    assert "已退回补正" in page.inner_text(".messages")
    app.refresh_from_db()
    assert app.state == "returned"
