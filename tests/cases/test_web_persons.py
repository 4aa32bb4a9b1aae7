"""Persons through the pages: search by masked or full number and by name, registering with the
backend's messages next to the fields, derived sex and birth date, the full number on request
(logged), identity periods."""
from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from cases.identity_numbers import compose
from cases.models import Identity, IdNumberView, Person
from tests.cases.factories import make_case, person_with_identity
from tests.web import page, post

pytestmark = pytest.mark.django_db




def results(body: str) -> str:
    """The result table only (the search box keeps what the user typed)."""
    return body[body.index("<table"):body.index("</table>")]


def search(client, user, url, q, **extra):
    """The search box: a POST that redirects to the list's GET (a full number as an opaque token)."""
    client.force_login(user)
    response = client.post(url, {"q": q, **extra})
    assert response.status_code == 302
    assert response["Location"].startswith(url)
    followed = client.get(response["Location"])
    return response, followed, followed.content.decode()


def test_search_by_full_and_masked_number_and_by_name(client, team):
    person = person_with_identity(name="钟秀英")
    other = person_with_identity(name="谢建国")
    url = reverse("cases:persons")
    for q in (person.id_number, person.masked_id_number, person.id_number.lower(), "钟秀", person.id_number[-4:],
              person.id_number[-6:]):
        redirect, response, body = search(client, team.caseworker, url, q)
        assert response.status_code == 200
        assert person.id_number not in redirect["Location"] and person.id_number.lower() not in redirect["Location"]
        assert reverse("cases:person", args=[person.pk]) in body, q
        assert reverse("cases:person", args=[other.pk]) not in body, q
        assert person.masked_id_number in results(body) and person.id_number not in results(body)  # masked
        assert person.id_number not in body  # not in the search box nor in any link either
    _, body = page(client, team.caseworker, url, data={"q": "3607**********0000"})
    assert "辖区内没有符合条件的人员" in body


@pytest.mark.parametrize("where", ["cases:persons", "cases:queue"])
def test_a_full_number_in_the_address_is_answered_with_the_search_form_not_results(client, team, where):
    app = make_case(team, "submitted")
    number = app.person.id_number
    client.force_login(team.reviewer)
    response = client.get(reverse(where), {"q": number})
    body = response.content.decode()
    assert response.status_code == 400
    assert "请在搜索框中输入" in body and 'method="post"' in body
    assert app.person.masked_id_number not in results(body) and app.number not in results(body)
    assert number not in body  # the box does not echo it, no link carries it


@pytest.mark.parametrize("where", ["cases:persons", "cases:queue"])
def test_no_link_or_redirect_of_a_full_number_search_carries_the_number(client, team, where):
    import re

    app = make_case(team, "submitted")
    number = app.person.id_number
    redirect, response, body = search(client, team.reviewer, reverse(where), number)
    assert number not in redirect["Location"] and "qt=" in redirect["Location"]
    found = app.number if where == "cases:queue" else reverse("cases:person", args=[app.person.pk])
    assert response.status_code == 200 and found in results(body)
    hrefs = re.findall(r'(?:href|action|hx-get|hx-post)="([^"]*)"', body)
    assert hrefs and not any(number in h for h in hrefs)
    assert number not in body
    # the export of that search is found through the token too, and shows the masked number
    export = next(h for h in hrefs if "export.xlsx" in h)
    assert "qt=" in export
    rows = xlsx_rows(client.get(export.replace("&amp;", "&")))
    assert any(app.person.masked_id_number in row for row in rows[1:]) and not any(number in row for row in rows)
    # another session (or an old token) does not resolve it: the search has expired
    other = client_class_for(team.reviewer)
    again = other.get(redirect["Location"]).content.decode()
    assert found not in results(again) and "已失效" in again


def client_class_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def xlsx_rows(response) -> list[list[str]]:
    import io

    from openpyxl import load_workbook

    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_cases_are_found_by_masked_and_full_number(client, team):
    app = make_case(team, "submitted")
    other = make_case(team, "submitted")
    url = reverse("cases:queue")
    for q in (app.person.id_number, app.person.masked_id_number, app.number, app.person.name):
        _, _, body = search(client, team.reviewer, url, q, queue="to_review")
        assert app.number in body and other.number not in body, q
        assert app.person.masked_id_number in results(body) and app.person.id_number not in results(body)


def test_register_a_person_sex_and_birth_date_come_from_the_number(client, team):
    number = compose("360702", datetime.date(1970, 5, 6), 123)  # 123: odd → male
    response, _ = post(client, team.caseworker, reverse("cases:person_new"), {
        "id_number": number, "name": "李四", "region_code": "360702", "residence": "rural", "scheme": "resident",
        "bank_name": "农商银行", "bank_account": "6217 0000 1234 5678"})
    person = Person.objects.get(id_number=number)
    assert response.status_code == 302 and response["Location"] == reverse("cases:person", args=[person.pk])
    assert (person.sex, person.birth_date, person.bank_account) == ("M", datetime.date(1970, 5, 6), "6217000012345678")
    _, body = page(client, team.caseworker, response["Location"])
    assert "男" in body and "1970-05-06" in body and "李四 已登记" in body
    assert number not in body


def test_the_form_has_no_sex_or_birth_date_fields(client, team):
    _, body = page(client, team.caseworker, reverse("cases:person_new"))
    assert 'name="sex"' not in body and 'name="birth_date"' not in body
    assert "由身份证号自动识别" in body
    assert f'hx-post="{reverse("cases:id_number_check")}"' in body and "X-CSRFToken" in body


def test_the_live_check_reads_the_number_or_says_why_not(client, team):
    url = reverse("cases:id_number_check")
    good = compose("360702", datetime.date(1985, 2, 3), 224)
    _, body = post(client, team.caseworker, url, {"id_number": good}, HTTP_HX_REQUEST="true")
    assert "女" in body and "1985-02-03" in body
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    _, body = post(client, team.caseworker, url, {"id_number": bad})
    assert "校验码" in body
    _, body = post(client, team.caseworker, url, {"id_number": "3607"})
    assert "18" in body
    assert post(client, team.auditor, url, {"id_number": good})[0].status_code == 403
    assert page(client, team.caseworker, url, data={"id_number": good})[0].status_code == 405  # not in URLs


def test_the_backends_messages_stand_next_to_the_fields_and_values_are_kept(client, team):
    good = compose("360702", datetime.date(1985, 2, 3), 224)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response, body = post(client, team.caseworker, reverse("cases:person_new"), {
        "id_number": bad, "name": "", "region_code": "360702", "residence": "rural", "scheme": "resident",
        "bank_account": "12ab", "phone": "13800000000"})
    assert response.status_code == 400
    id_block = body[body.index('for="id_id_number"'):body.index('for="id_name"')]
    assert "校验码" in id_block and f'value="{bad}"' in id_block
    assert "请填写姓名" in body and "银行账号应为8至32位数字" in body
    assert 'value="13800000000"' in body and 'value="12ab"' in body
    assert not Person.objects.filter(id_number=bad).exists()


def test_a_number_already_registered_is_refused_saying_where(client, team):
    person = person_with_identity(region="360731")
    response, body = post(client, team.caseworker, reverse("cases:person_new"), {
        "id_number": person.id_number, "name": "重复", "region_code": "360702", "residence": "rural", "scheme": "resident"})
    assert response.status_code == 400 and "已登记" in body and "于都县" in body


def test_correct_a_person_keeping_the_number(client, team):
    person = person_with_identity()
    url = reverse("cases:person_edit", args=[person.pk])
    _, body = page(client, team.caseworker, url)
    assert person.id_number not in body and person.masked_id_number in body  # the form does not reveal it
    response, _ = post(client, team.caseworker, url, {
        "id_number": "", "name": "改名", "region_code": person.region_id, "residence": "urban", "scheme": "resident",
        "bank_name": "银行", "bank_account": "6217000099998888", "account_holder": "户主"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.name, person.residence, person.bank_account) == ("改名", "urban", "6217000099998888")
    assert post(client, team.auditor, url, {"name": "x"})[0].status_code == 403


def test_person_page_lists_identities_claims_and_cases(client, team):
    app = make_case(team, "submitted")
    person = app.person
    response, body = page(client, team.caseworker, reverse("cases:person", args=[person.pk]))
    assert response.status_code == 200
    assert "低保对象" in body and "2022-01-01" in body and "民政局" in body
    assert app.number in body and "已受理" in body
    claim = app.claim_links.get().claim
    assert claim.setl_id in body and "52,000.00" in body
    for text in ("登记案件", "录入结算记录", "更正人员信息", "登记身份期间"):
        assert text in body, text


def test_show_full_number_only_for_those_who_may_and_each_view_is_logged(client, team):
    person = person_with_identity()
    url = reverse("cases:person", args=[person.pk])
    for user in (team.caseworker, team.payment, team.auditor):
        _, body = page(client, user, url)
        assert "查看完整号码" not in body and person.id_number not in body
        assert post(client, user, reverse("cases:person_reveal", args=[person.pk]), {})[0].status_code == 403
    for user in (team.reviewer, team.approver):
        _, body = page(client, user, url)
        assert "查看完整号码" in body and person.id_number not in body
        response, body = post(client, user, reverse("cases:person_reveal", args=[person.pk]), {"reason": " "})
        assert response.status_code == 400 and person.id_number not in body and "请说明查看完整号码的理由" in body
        response, body = post(client, user, reverse("cases:person_reveal", args=[person.pk]), {"reason": "核对银行回单"})
        assert response.status_code == 200 and person.id_number in body and "已留痕" in body
    views = list(IdNumberView.objects.order_by("id"))
    assert [v.user for v in views] == [team.reviewer, team.approver]
    assert all(v.channel == "screen" and "人员页" in v.context and v.reason == "核对银行回单" for v in views)


def test_record_and_close_an_identity_period(client, team):
    person = person_with_identity(category=None)
    response, _ = post(client, team.caseworker, reverse("cases:identity_add", args=[person.pk]), {
        "identity-category": "dibao", "identity-start": "2023-01-01", "identity-end": "",
        "identity-reference": "赣民〔2023〕1号", "identity-method": "evidence"})
    assert response.status_code == 302
    assert not Identity.objects.filter(person=person).exists()  # waits for a second reviewer
    entry = person.identity_entries.get()
    response, body = post(client, team.reviewer, reverse("cases:identity_entry_decide", args=[entry.pk]),
                          {"decision": "confirm"}, follow=True)
    assert "已确认" in body
    identity = Identity.objects.get(person=person)
    assert (identity.category, identity.method, identity.reference, identity.end) == ("dibao", "evidence", "赣民〔2023〕1号", None)
    response, _ = post(client, team.caseworker, reverse("cases:identity_close", args=[identity.pk]), {
        f"close{identity.pk}-end": "2023-12-31", f"close{identity.pk}-reference": "退出"})
    assert response.status_code == 302
    identity.refresh_from_db()
    assert identity.end == datetime.date(2023, 12, 31)


def test_identity_errors_are_shown_and_kept(client, team):
    person = person_with_identity(category="dibao", start=datetime.date(2022, 1, 1))
    response, body = post(client, team.caseworker, reverse("cases:identity_add", args=[person.pk]), {
        "identity-category": "dibao", "identity-start": "2023-01-01", "identity-end": "2022-06-01",
        "identity-reference": "X", "identity-method": "evidence"})
    assert response.status_code == 400 and "结束日期早于开始日期" in body
    assert '<details class="no-print add-identity" open>' in body
    identity = person.identities.get()
    response, body = post(client, team.caseworker, reverse("cases:identity_close", args=[identity.pk]), {
        f"close{identity.pk}-end": "2021-01-01"})
    assert response.status_code == 400 and '<details class="close-identity" open>' in body


def test_auditors_and_liaisons_of_other_departments_cannot_record_identities(client, team):
    person = person_with_identity(category=None)
    data = {"identity-category": "dibao", "identity-start": "2023-01-01", "identity-method": "confirmed"}
    assert post(client, team.auditor, reverse("cases:identity_add", args=[person.pk]), data)[0].status_code == 403
    # the rural-revitalisation liaison may record its own categories only (dibao is civil affairs')
    response, body = post(client, team.rural, reverse("cases:identity_add", args=[person.pk]), data)
    assert response.status_code == 400 and not person.identities.exists()
    data["identity-category"] = "jiance"
    response, _ = post(client, team.rural, reverse("cases:identity_add", args=[person.pk]), data)
    assert response.status_code == 302 and person.identities.get().method == "confirmed"


def test_a_pushed_person_to_be_verified_is_marked_filtered_and_verified_by_a_caseworker_with_history(client, team):
    pushed = person_with_identity(name="推送甲")
    Person.objects.filter(pk=pushed.pk).update(residence="", scheme="")  # what a push without the columns leaves
    known = person_with_identity(name="已知乙")
    _, body = page(client, team.caseworker, reverse("cases:person", args=[pushed.pk]))
    assert "待核实" in body and reverse("cases:person_edit", args=[pushed.pk]) in body
    _, body = page(client, team.caseworker, reverse("cases:persons"), data={"details": "unverified"})
    table = results(body)
    assert "推送甲" in table and "已知乙" not in table and "待核实" in table
    _, body = page(client, team.caseworker, reverse("cases:persons"), data={"details": "verified"})
    assert "推送甲" not in results(body) and "已知乙" in results(body)
    # the correction form keeps 待核实 on offer; choosing the values verifies them, with who and when
    _, form = page(client, team.caseworker, reverse("cases:person_edit", args=[pushed.pk]))
    assert "待核实" in form
    data = {"id_number": "", "name": "推送甲", "region_code": pushed.region_id, "residence": "urban",
            "scheme": "employee", "phone": "", "bank_name": pushed.bank_name, "bank_account": pushed.bank_account,
            "account_holder": pushed.account_holder}
    response, _ = post(client, team.caseworker, reverse("cases:person_edit", args=[pushed.pk]), data)
    assert response.status_code == 302
    pushed.refresh_from_db()
    assert (pushed.residence, pushed.scheme) == ("urban", "employee")
    _, body = page(client, team.caseworker, reverse("cases:person", args=[pushed.pk]))
    history = body[body.index('id="detail-changes"'):]
    assert "待核实" in history and "城镇" in history and team.caseworker.display_name in history
    assert 'id="details-to-verify"' not in body
    # a person registered by hand is never marked
    _, body = page(client, team.caseworker, reverse("cases:person", args=[known.pk]))
    assert 'id="details-to-verify"' not in body
