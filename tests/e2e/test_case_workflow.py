"""The whole way of a case through the browser, each step by the person whose job it is:
caseworker registers the claim and the application and submits it; the reviewer starts the review
and asks 民政 to confirm a dibao identity; the liaison confirms; the reviewer passes; the approver
approves; the payment officer builds a batch, exports the bank file and records the bank's result."""
import datetime
import re
from decimal import Decimal

import pytest

from cases.identity_numbers import compose
from cases.models import Application, Identity, Person
from policies.models import Statistic
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def act(page, action: str):
    page.click(f'button[data-action="{action}"], a[data-action="{action}"]')
    page.wait_for_load_state()


def state_of(app_id: int) -> str:
    return Application.objects.get(pk=app_id).state


def test_a_case_from_registration_to_bank_payment(new_page, shots):
    for username, role, dept in [
        ("e2e_cw", "caseworker", None), ("e2e_rv", "reviewer", None), ("e2e_ap", "approver", None),
        ("e2e_pay", "payment_officer", None), ("e2e_civil", "liaison", "civil_affairs"),
    ]:
        make_user(role, region="360700", department=dept, username=username)
    Statistic.objects.create(region_id="360700", kind="city_income", year=2022, value=Decimal("32000.00"), source="e2e")
    Statistic.objects.create(region_id="360000", kind="province_rural_income", year=2022, value=Decimal("19000.00"), source="e2e")
    number = compose("360702", datetime.date(1975, 8, 15), 243)
    person = Person.objects.create(
        id_number=number, name="钟秀英", sex="M", birth_date=datetime.date(1975, 8, 15), region_id="360702",
        bank_name="农村商业银行", bank_account="6217000011112222", account_holder="钟秀英",
    )

    # Caseworker: a claim, an application with it, submitted.
    cw = new_page()
    login(cw, "e2e_cw", PASSWORD)
    cw.goto(f"/cases/persons/{person.pk}/claims/new/")
    cw.fill('input[name="date"]', "2023-03-08")
    cw.select_option('select[name="kind"]', "inpatient")
    cw.fill('input[name="hospital_name"]', "赣州市人民医院")
    cw.select_option('select[name="hospital_level"]', "3")
    cw.select_option('select[name="location"]', "city")
    cw.fill('input[name="total"]', "38000.00")
    cw.fill('input[name="policy_scope"]', "33000.00")
    cw.fill('input[name="basic_paid"]', "21000.00")
    cw.fill('input[name="critical_paid"]', "3000.00")
    shots(cw, "caseworker-claim-form")
    cw.click('form button[type="submit"].btn-primary')
    cw.wait_for_load_state()
    assert person.claims.count() == 1
    claim = person.claims.get()

    cw.goto(f"/cases/persons/{person.pk}/cases/new/")
    cw.check(f'input[name="claim_ids"][value="{claim.pk}"]')
    shots(cw, "caseworker-application-form")
    cw.click('form button[type="submit"].btn-primary')
    cw.wait_for_url(re.compile(r"/cases/\d+/$"))
    app_id = int(re.search(r"/cases/(\d+)/$", cw.url).group(1))
    act(cw, "submit")
    shots(cw, "caseworker-submitted")
    assert state_of(app_id) == "submitted"

    # Reviewer: start the review; without an identity nothing is payable, so ask 民政.
    rv = new_page()
    login(rv, "e2e_rv", PASSWORD)
    rv.goto(f"/cases/{app_id}/")
    act(rv, "start_review")
    assert state_of(app_id) == "in_review"
    act(rv, "ask_department")
    rv.select_option('select[name="category"]', "dibao")
    rv.fill('input[name="claimed_start"]', "2023-01-01")
    shots(rv, "reviewer-asks-department")
    rv.click('button:has-text("请部门确认")' if rv.locator('button:has-text("请部门确认")').count() else 'form button[type="submit"].btn-primary')
    rv.wait_for_load_state()
    assert state_of(app_id) == "awaiting_identity"

    # Liaison of 民政: the request waits in the inbox; confirm with a reference.
    lz = new_page()
    login(lz, "e2e_civil", PASSWORD)
    assert lz.locator(".tile .badge").first.inner_text().strip() == "1"  # one request waits
    lz.goto("/exchange/confirmations/")
    lz.click('table a[href^="/exchange/confirmations/"] >> nth=0')
    lz.wait_for_load_state()
    shots(lz, "liaison-request")
    lz.get_by_label("文号").fill("章民〔2023〕15号")
    lz.get_by_label("认定起始日期").fill("2023-01-01")
    shots(lz, "liaison-confirms")
    lz.click('button:has-text("确认身份")')
    lz.wait_for_load_state()
    assert Identity.objects.filter(person=person, category="dibao", reference="章民〔2023〕15号").exists()
    assert state_of(app_id) == "in_review"

    # Reviewer: the answer is on the timeline, the settlement now pays class 2 at 75 %; pass.
    rv.goto(f"/cases/{app_id}/")
    body = rv.inner_text("main")
    assert "章民〔2023〕15号" in body
    assert "6,750.00" in body  # S = 33 000 − 21 000 − 3 000 = 9 000; A = 75 %
    shots(rv, "reviewer-sees-settlement")
    act(rv, "pass")
    assert state_of(app_id) == "reviewed"

    # Approver (not the reviewer): approve.
    ap = new_page()
    login(ap, "e2e_ap", PASSWORD)
    ap.goto(f"/cases/{app_id}/")
    act(ap, "approve")
    shots(ap, "approver-approved")
    assert state_of(app_id) == "approved"

    # Payment officer: build a batch, export the bank file, record the bank's result.
    pay = new_page()
    login(pay, "e2e_pay", PASSWORD)
    pay.goto("/cases/payments/")
    pay.check(f'input[name="application_ids"][value="{app_id}"]')
    pay.click('button[name="mode"][value="selected"]')
    pay.wait_for_url(re.compile(r"/cases/payments/batches/\d+/$"))
    assert state_of(app_id) == "in_payment"
    with pay.expect_download() as download:
        pay.click('a[href$="export.csv"]')
    csv_text = open(download.value.path(), encoding="utf-8-sig").read()
    # the amount, and the full identity number the bank checks (issue 14 item 7: the download is recorded)
    assert "6750.00" in csv_text and number in csv_text
    pay.reload()  # results can be recorded once the bank file is exported (issue 14 item 7)
    pay.select_option('select[name^="outcome-"]', "paid")
    pay.fill('input[name^="reference-"]', "BANK-2023-0001")
    shots(pay, "payment-officer-records-result")
    pay.click('button:has-text("登记银行")' if pay.locator('button:has-text("登记银行")').count() else 'form button[type="submit"].btn-primary')
    pay.wait_for_load_state()
    shots(pay, "payment-officer-confirms-results")
    pay.click('input[name="confirmed"] ~ div.actions button[type="submit"]')  # recording asks to confirm
    pay.wait_for_load_state()
    shots(pay, "paid")
    assert state_of(app_id) == "paid"

    # The printable slip carries the same numbers.
    pay.goto(f"/cases/{app_id}/slip/")
    shots(pay, "slip")
    slip = pay.inner_text("main")
    assert "6,750.00" in slip and "赣市府办字〔2022〕112号" in slip
    # Printed: one A4 page, without the navigation or buttons.
    pay.emulate_media(media="print")
    assert not pay.locator("header.topbar").is_visible()
    pdf = pay.pdf(prefer_css_page_size=True)
    (shots.dir / "slip.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    box = [float(x) for x in re.search(rb"/MediaBox\s*\[([\d.\s]+)\]", pdf).group(1).split()]
    assert [round(v) for v in box] == [0, 0, 595, 842]  # A4 in points
