"""Identity confirmation: a reviewer asks, the owning department's liaison answers, the case
returns to review with the answer on its timeline."""
import datetime

import pytest
from django.urls import reverse

from cases.exchange.errors import Conflict, Invalid, NotFound
from cases.exchange.models import ConfirmationRequest, IdentityChange
from cases.exchange.services import confirmations
from cases.models import Application, ApplicationEvent, Identity, RecalcMark
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.exchange.oncommit import run_on_commit
from tests.factories import make_user

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def team():
    add_statistics()
    return make_team("360700")


def case_in_review(team, category=None):
    person = person_with_identity(region="360702", category=category)
    claim = ClaimFactory(person=person, date=D(2023, 3, 10))
    return make_case(team, "in_review", person=person, claims=[claim])


def test_confirmation_flow_end_to_end_in_the_browser(client, team):
    app = case_in_review(team)
    client.force_login(team.reviewer)
    page = client.get(reverse("exchange:confirmation_new") + f"?application={app.pk}")
    assert page.status_code == 200 and app.person.masked_id_number in page.content.decode()
    with run_on_commit():
        response = client.post(reverse("exchange:confirmation_new"), {
            "application": app.pk, "category": "dibao", "claimed_start": "2023-01-01", "note": "申请人称已纳入低保"})
    req = ConfirmationRequest.objects.get()
    assert response.status_code == 302 and req.department_id == "civil_affairs" and req.status == "open"
    app.refresh_from_db()
    assert app.state == "awaiting_identity"
    ask = ApplicationEvent.objects.filter(application=app, action="ask_department").get()
    assert "民政" in ask.comment and "2023-01-01" in ask.comment

    # The civil-affairs liaison of the region sees it in the inbox; the rural one does not.
    client.force_login(team.civil)
    inbox = client.get(reverse("exchange:confirmation_list")).content.decode()
    assert app.person.name in inbox
    assert client.get(reverse("exchange:home")).context["open_confirmations"] == 1
    client.force_login(team.rural)
    assert app.person.name not in client.get(reverse("exchange:confirmation_list")).content.decode()
    assert client.get(reverse("exchange:confirmation_detail", args=[req.pk])).status_code == 404

    client.force_login(team.civil)
    with run_on_commit():
        response = client.post(reverse("exchange:confirmation_detail", args=[req.pk]), {
            "action": "confirm", "confirm-reference": "章民〔2023〕88号", "confirm-confirmed_start": "2023-01-01"})
    assert response.status_code == 302
    req.refresh_from_db()
    app.refresh_from_db()
    assert req.status == "confirmed" and app.state == "in_review"
    ident = Identity.objects.get(person=app.person, category="dibao")
    assert (ident.start, ident.end, ident.method, ident.reference) == (D(2023, 1, 1), None, "confirmed", "章民〔2023〕88号")
    answer = ApplicationEvent.objects.filter(application=app, action="identity_answered").get()
    assert answer.actor == team.civil and "章民〔2023〕88号" in answer.comment
    assert client.get(reverse("exchange:home")).context["open_confirmations"] == 0


def test_rejection_needs_a_reason_and_goes_on_the_timeline(team):
    app = case_in_review(team)
    with run_on_commit():
        req = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="jiance",
                                           claimed_start=D(2023, 2, 1))
    assert req.department_id == "rural_revitalisation"
    with pytest.raises(Invalid) as err:
        confirmations.reject(acting_user=team.rural, request_id=req.pk, reason="  ")
    assert err.value.field == "reason"
    with pytest.raises(NotFound):  # civil affairs does not own jiance
        confirmations.reject(acting_user=team.civil, request_id=req.pk, reason="x")
    with run_on_commit():
        confirmations.reject(acting_user=team.rural, request_id=req.pk, reason="未纳入监测范围")
    app.refresh_from_db()
    assert app.state == "in_review"
    assert "未纳入监测范围" in app.events.get(action="identity_answered").comment
    assert not Identity.objects.filter(person=app.person, category="jiance").exists()
    with pytest.raises(Conflict):
        confirmations.reject(acting_user=team.rural, request_id=req.pk, reason="again")


def test_confirming_an_earlier_start_backdates_the_period_held(team):
    app = case_in_review(team, category=None)
    held = Identity.objects.create(person=app.person, category="dibao", start=D(2023, 6, 1),
                                   department_id="civil_affairs", method="pushed", reference="旧")
    with run_on_commit():
        req = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="dibao",
                                           claimed_start=D(2023, 1, 1))
        confirmations.confirm(acting_user=team.civil, request_id=req.pk, reference="新文号")
    held.refresh_from_db()
    assert held.start == D(2023, 1, 1) and Identity.objects.filter(person=app.person).count() == 1
    change = IdentityChange.objects.get(source=f"confirmation:{req.pk}")
    assert (change.action, change.old_start, change.new_start) == ("backdated", D(2023, 6, 1), D(2023, 1, 1))
    assert RecalcMark.objects.filter(person=app.person, year=2023).exists()


def test_bad_answers_name_the_field(team):
    app = case_in_review(team)
    with run_on_commit():
        req = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="dibao",
                                           claimed_start=D(2023, 1, 1))
    with pytest.raises(Invalid) as err:
        confirmations.confirm(acting_user=team.civil, request_id=req.pk, reference="")
    assert err.value.field == "reference"
    with pytest.raises(Invalid) as err:
        confirmations.confirm(acting_user=team.civil, request_id=req.pk, reference="x", start=D(2023, 5, 1),
                              end=D(2023, 4, 1))
    assert err.value.field == "confirmed_end"
    assert Application.objects.get(pk=app.pk).state == "awaiting_identity"


def test_only_a_case_in_review_and_only_its_reviewer(team):
    draft = make_case(team, "draft")
    with pytest.raises(Conflict):
        confirmations.ask_department(acting_user=team.reviewer, application_id=draft.pk, category="dibao",
                                     claimed_start=D(2023, 1, 1))
    other = make_user("reviewer", region="130900")
    app = case_in_review(team)
    with pytest.raises(NotFound):
        confirmations.ask_department(acting_user=other, application_id=app.pk, category="dibao",
                                     claimed_start=D(2023, 1, 1))
    with pytest.raises(Invalid) as err:
        confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="other_special",
                                     claimed_start=D(2023, 1, 1))
    assert err.value.field == "category"
    assert not ConfirmationRequest.objects.exists()


def test_the_cases_own_ask_department_action_opens_a_request(team):
    with run_on_commit():
        app = make_case(team, "awaiting_identity")
    req = ConfirmationRequest.objects.get(application_id=app.pk)
    assert (req.category, req.department_id, req.claimed_start, req.status) == (
        "dibao", "civil_affairs", D(2023, 1, 1), "open")


# --- Forms a clerk can use in any browser, and the liaison's full number (issue 14 items 3 and 8) ------------


def test_both_forms_carry_iso_dates_and_the_ask_form_proposes_the_claimed_identity(client, team):
    app = case_in_review(team)
    from cases.services import persons

    persons.add_identity(acting_user=team.caseworker, person_id=app.person_id, category="dibao_edge",
                         start="2023-02-01")  # the applicant's claim, waiting for a second reviewer
    client.force_login(team.reviewer)
    with __import__("django.utils.translation", fromlist=["override"]).override("zh-hans"):
        body = client.get(reverse("exchange:confirmation_new") + f"?application={app.pk}").content.decode()
    assert 'value="2023-02-01"' in body and "2023/02/01" not in body
    assert '<option value="dibao_edge" selected>' in body
    assert f'href="{reverse("cases:case", args=[app.pk])}"' in body and "novalidate" in body
    with run_on_commit():
        client.post(reverse("exchange:confirmation_new"), {
            "application": app.pk, "category": "dibao_edge", "claimed_start": "2023-02-01"})
    req = ConfirmationRequest.objects.get()
    client.force_login(team.civil)
    body = client.get(reverse("exchange:confirmation_detail", args=[req.pk])).content.decode()
    assert 'name="confirm-confirmed_start" value="2023-02-01"' in body
    assert f'href="{reverse("cases:case", args=[app.pk])}"' in body


def test_without_a_claimed_identity_nothing_is_preselected(client, team):
    app = case_in_review(team)
    client.force_login(team.reviewer)
    body = client.get(reverse("exchange:confirmation_new") + f"?application={app.pk}").content.decode()
    select = body.split('name="category"', 1)[1].split("</select>", 1)[0]
    assert select.count("selected") == 1 and 'value="" selected' in select


def test_missing_required_fields_are_named_in_chinese_by_the_portal(client, team):
    app = case_in_review(team)
    client.force_login(team.reviewer)
    body = client.post(reverse("exchange:confirmation_new"), {"application": app.pk, "category": "",
                                                              "claimed_start": ""}).content.decode()
    assert "请选择需要部门确认的身份" in body and "请填写申请人所称身份的起始日期" in body
    assert not ConfirmationRequest.objects.exists()
    with run_on_commit():
        client.post(reverse("exchange:confirmation_new"), {
            "application": app.pk, "category": "dibao", "claimed_start": "2023-01-01"})
    req = ConfirmationRequest.objects.get()
    client.force_login(team.civil)
    body = client.post(reverse("exchange:confirmation_detail", args=[req.pk]), {
        "action": "confirm", "confirm-reference": "", "confirm-confirmed_start": ""}).content.decode()
    assert "请填写认定文号" in body and "请填写身份起始日期" in body
    body = client.post(reverse("exchange:confirmation_detail", args=[req.pk]), {
        "action": "reject", "reject-reason": ""}).content.decode()
    assert "请说明不予确认的理由" in body
    req.refresh_from_db()
    assert req.status == "open"


def test_the_liaison_answering_a_request_sees_the_full_number_and_the_view_is_logged(client, team):
    from cases.models import IdNumberView

    app = case_in_review(team)
    with run_on_commit():
        req = confirmations.ask_department(acting_user=team.reviewer, application_id=app.pk, category="dibao",
                                           claimed_start="2023-01-01")
    number = app.person.id_number
    client.force_login(team.civil)
    body = client.get(reverse("exchange:confirmation_detail", args=[req.pk])).content.decode()
    assert number in body
    view = IdNumberView.objects.get()
    assert (view.user, view.person_id, view.channel) == (team.civil, app.person_id, "screen")
    assert str(req.pk) in view.context and view.reason
    # the reviewer who asked (not the liaison answering) and another department's liaison: masked only
    client.force_login(team.rural)
    assert client.get(reverse("exchange:confirmation_detail", args=[req.pk])).status_code == 404
    with pytest.raises(NotFound):
        confirmations.reveal_person_number(acting_user=team.rural, request_id=req.pk)
    with run_on_commit():
        confirmations.confirm(acting_user=team.civil, request_id=req.pk, reference="民〔2023〕1号")
    body = client.get(reverse("exchange:confirmation_detail", args=[req.pk])).content.decode()
    client.force_login(team.civil)
    body = client.get(reverse("exchange:confirmation_detail", args=[req.pk])).content.decode()
    assert number not in body and IdNumberView.objects.count() == 1  # answered: masked again
    with pytest.raises(Conflict):
        confirmations.reveal_person_number(acting_user=team.civil, request_id=req.pk)
