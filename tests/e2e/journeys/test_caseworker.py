"""Caseworker (经办人) of 赣州: registers a person, records a hardship identity, enters a claim, opens
the case, sees its settlement and submits it."""
import datetime
import re

import pytest

from cases.identity_numbers import compose
from cases.models import Application, Person
from tests.e2e.journeys.conftest import go, main_text, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_caseworker_registers_a_person_and_submits_a_case(journey):
    number = compose("360702", datetime.date(1970, 5, 6), 515)
    page = journey.as_user("gz_caseworker")
    journey.shot(page, "home")

    # Register the person: the identity number gives sex and birth date.
    go(page, "/cases/persons/new/")
    page.fill('input[name="id_number"]', number)
    page.fill('input[name="name"]', "罗春华")
    page.select_option('select[name="region_code"]', "360702")
    page.select_option('select[name="residence"]', "rural")
    page.fill('input[name="bank_name"]', "赣州银行")
    page.fill('input[name="bank_account"]', "6217000012345678")
    journey.shot(page, "person-form")
    submit(page)
    assert re.search(r"/cases/persons/\d+/$", page.url), page.url
    person = Person.objects.get(id_number=number)
    assert person.birth_date == datetime.date(1970, 5, 6)
    journey.shot(page, "person-registered")

    # Record the 低保 identity the 民政 document gives.
    page.click("details.add-identity summary")
    page.select_option('select[name="identity-category"]', "dibao")
    page.fill('input[name="identity-start"]', "2022-01-01")
    page.fill('input[name="identity-reference"]', "章民字〔2022〕8号")
    submit(page, "details.add-identity button[type=submit]")
    assert "章民字〔2022〕8号" in main_text(page)
    assert "待第二名审核人确认" in main_text(page)  # counts once a second reviewer confirms it (four eyes)
    journey.shot(page, "identity-recorded")

    # The hospital's settlement statement as a claim.
    go(page, f"/cases/persons/{person.pk}/claims/new/")
    page.fill('input[name="setl_id"]', "GZ-E2E-0001")
    page.fill('input[name="date"]', "2023-03-08")
    page.select_option('select[name="kind"]', "inpatient")
    page.fill('input[name="hospital_name"]', "赣州市人民医院")
    page.select_option('select[name="hospital_level"]', "3")
    page.select_option('select[name="location"]', "city")
    page.fill('input[name="total"]', "38000.00")
    page.fill('input[name="policy_scope"]', "33000.00")
    page.fill('input[name="basic_paid"]', "21000.00")
    page.fill('input[name="critical_paid"]', "3000.00")
    journey.shot(page, "claim-form")
    submit(page)
    claim = person.claims.get()
    assert claim.setl_id == "GZ-E2E-0001"

    # Open the case with the claim; its settlement is calculated; submit it.
    go(page, f"/cases/persons/{person.pk}/cases/new/")
    page.check(f'input[name="claim_ids"][value="{claim.pk}"]')
    journey.shot(page, "application-form")
    submit(page)
    assert re.search(r"/cases/\d+/$", page.url), page.url
    app = Application.objects.get(person=person)
    page.reload()
    body = main_text(page)
    assert "GZ-E2E-0001" in body  # 结算ID shows on the case
    assert "赣州市人民医院" in body and "38,000.00" in body
    journey.shot(page, "case-settled")
    with page.expect_navigation():
        page.click('button[data-action="submit"]')
    app.refresh_from_db()
    assert app.state == "submitted"
    assert "已受理" in main_text(page)
    journey.shot(page, "case-submitted")
