"""The audit log page (审计日志): only auditors and superusers, region-scoped; changes with who,
channel and old → new; the full-number view log; bank-account changes; the Excel export with masked
numbers."""
import io

import openpyxl
import pytest
from django.urls import reverse

from cases.services import persons
from portal.audit.context import audit_context
from tests.cases.factories import make_case, person_with_identity
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGES = ["audit:log", "audit:id_views", "audit:bank_changes", "audit:simulations", "audit:list_exports", "audit:export"]


def test_only_auditors_and_superusers_open_the_audit_log(client, team):
    for user in (team.caseworker, team.reviewer, team.approver, team.payment, team.civil,
                 make_user("policy_admin"), make_user()):
        client.force_login(user)
        for name in PAGES:
            assert client.get(reverse(name)).status_code == 403, (user, name)
        assert reverse("audit:log") not in client.get(reverse("home")).content.decode()
    for user in (team.auditor, make_user(superuser=True)):
        client.force_login(user)
        for name in PAGES:
            assert client.get(reverse(name)).status_code == 200, (user, name)
    client.force_login(team.auditor)
    home = client.get(reverse("home")).content.decode()
    assert reverse("audit:log") in home and "审计日志" in home
    client.logout()
    assert client.get(reverse("audit:log")).status_code == 302


def test_bank_account_changes_and_full_number_views_are_listed_in_the_region(client, team, cz_team):
    person = person_with_identity(name="赣民一号")
    persons.update_person(acting_user=team.caseworker, person_id=person.pk, bank_account="6217999988887777",
                          account_holder="经办人自己")
    persons.reveal_id_number(acting_user=team.reviewer, person=person, context="审计测试", reason="核对身份")
    client.force_login(team.auditor)
    body = client.get(reverse("audit:bank_changes")).content.decode()
    assert "赣民一号" in body and "6217000012345678" in body and "6217999988887777" in body and "经办人自己" in body
    assert person.id_number not in body and person.masked_id_number in body
    body = client.get(reverse("audit:id_views")).content.decode()
    assert "赣民一号" in body and "核对身份" in body and "审计测试" in body and person.id_number not in body
    # filters: another operator finds nothing
    body = client.get(reverse("audit:id_views"), {"operator": team.caseworker.username}).content.decode()
    assert "核对身份" not in body
    body = client.get(reverse("audit:bank_changes"), {"person": "赣民一号"}).content.decode()
    assert "6217999988887777" in body
    # another region's auditor sees none of it
    client.force_login(cz_team.auditor)
    for name in ("audit:bank_changes", "audit:id_views"):
        assert "赣民一号" not in client.get(reverse(name)).content.decode()


def test_bad_filters_are_a_400_naming_the_field_not_a_500(client, team):
    client.force_login(team.auditor)
    response = client.get(reverse("audit:log"), {"date_from": "2023-02-30", "page": "x", "kind": "nope",
                                                 "person": "¡" * 3, "case": "' or 1=1"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()
    for name in PAGES:
        response = client.get(reverse(name), {"person": "1" * 40, "operator": "'; drop", "page": "999999"})
        assert response.status_code in (200, 400), (name, response.status_code)  # never a 500


def _sheet(response) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return [[c.value for c in row] for row in book.active.iter_rows()]


def test_export_of_bank_changes_and_views_masks_numbers(client, team):
    person = person_with_identity(name="赣民二号")
    persons.update_person(acting_user=team.caseworker, person_id=person.pk, bank_account="6217999988887777")
    persons.reveal_id_number(acting_user=team.reviewer, person=person, context="导出测试", reason="核对")
    client.force_login(team.auditor)
    rows = _sheet(client.get(reverse("audit:export"), {"tab": "bank_changes"}))
    text = repr(rows)
    assert "赣民二号" in text and "7777" in text and "6217999988887777" not in text and person.id_number not in text
    assert person.masked_id_number in text
    rows = _sheet(client.get(reverse("audit:export"), {"tab": "id_views"}))
    assert "导出测试" in repr(rows) and person.id_number not in repr(rows)


@pytest.mark.postgres
def test_the_change_log_shows_who_what_and_old_to_new_and_is_searchable(client, team, cz_team):
    with audit_context(channel="web", user=team.caseworker):
        person = person_with_identity(name="赣民三号")
        app = make_case(team, "submitted", person=person)
        persons.update_person(acting_user=team.caseworker, person_id=person.pk, phone="13912345678")
    client.force_login(team.auditor)
    body = client.get(reverse("audit:log"), {"person": "赣民三号"}).content.decode()
    assert "13912345678" in body and team.caseworker.display_name in body and "网页" in body
    assert person.id_number not in body and person.masked_id_number in body
    # the case's walk: draft → submitted, found by case number, operator and action
    body = client.get(reverse("audit:log"), {"case": app.number, "kind": "application", "action": "update"}).content.decode()
    from cases.models import ApplicationState

    assert app.number in body and f"{ApplicationState.DRAFT.label} → {ApplicationState.SUBMITTED.label}" in body
    body = client.get(reverse("audit:log"), {"operator": team.reviewer.username, "person": "赣民三号"}).content.decode()
    assert "13912345678" not in body
    # the export carries the same rows, numbers masked
    rows = _sheet(client.get(reverse("audit:export"), {"tab": "log", "person": "赣民三号"}))
    text = repr(rows)
    assert "13912345678" in text and person.masked_id_number in text and person.id_number not in text
    # 沧州's auditor sees nothing of 赣州
    client.force_login(cz_team.auditor)
    assert "赣民三号" not in client.get(reverse("audit:log")).content.decode()
    assert "赣民三号" not in repr(_sheet(client.get(reverse("audit:export"), {"tab": "log"})))


def test_policy_simulations_show_who_ran_which_version_when(client, team, cz_team):
    from policies import services as policy_services
    from policies.models import PolicyVersion, SimulationStatus, VersionStatus
    from policies.simulation import run_all, start_simulation

    gz_admin = make_user("policy_admin", region="360700", username="gz_sim_runner")
    cz_admin = make_user("policy_admin", region="130900", username="cz_sim_runner")
    drafts = {}
    for admin, code in ((gz_admin, "360700"), (cz_admin, "130900")):
        published = PolicyVersion.objects.get(region_id=code, status=VersionStatus.PUBLISHED)
        drafts[code] = policy_services.start_version(acting_user=admin, from_version=published)
        sim = run_all(start_simulation(acting_user=admin, version=drafts[code], year=2023, in_process=True))
        assert sim.status == SimulationStatus.DONE
    system_run = run_all(start_simulation(acting_user=None, version=drafts["360700"], year=2022, in_process=True))

    client.force_login(team.auditor)
    body = client.get(reverse("audit:simulations")).content.decode()
    gz = drafts["360700"]
    rows = body.count('class="simulation-row"')
    assert rows == 2, body
    assert gz_admin.display_name in body and "系统" in body            # who (a person, or the system: manage.py)
    assert gz.document_number in body and reverse("policies:version", args=[gz.pk]) in body   # which version
    assert "<td>2023</td>" in body and "<td>2022</td>" in body and "已结束" in body
    assert drafts["130900"].document_number not in body and cz_admin.display_name not in body  # another region's
    assert reverse("audit:simulations") in client.get(reverse("audit:log")).content.decode()  # a tab of the page
    # filtered by operator and by day
    body = client.get(reverse("audit:simulations"), {"operator": gz_admin.username}).content.decode()
    assert body.count('class="simulation-row"') == 1 and "<td>2022</td>" not in body
    day = system_run.created_at.date()
    body = client.get(reverse("audit:simulations"), {"date_to": (day.replace(year=day.year - 1)).isoformat()}).content.decode()
    assert 'class="simulation-row"' not in body and "没有符合筛选条件的政策测算" in body
    # the export carries the same rows
    rows = _sheet(client.get(reverse("audit:export"), {"tab": "simulations"}))
    assert len(rows) == 3 and rows[0][0] == "开始时间"
    assert {r[2] for r in rows[1:]} == {gz.document_number} and {r[1] for r in rows[1:]} == {gz_admin.display_name, "系统"}
    client.force_login(cz_team.auditor)
    body = client.get(reverse("audit:simulations")).content.decode()
    assert body.count('class="simulation-row"') == 1 and drafts["130900"].document_number in body


def shown(body: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body[body.find("<main"):]))


def test_list_exports_are_shown_to_auditors_of_the_region_with_who_when_which_list_filter_and_rows(client, team, cz_team):
    from portal.models import ListExport

    person_with_identity(name="欧阳春花")
    client.force_login(team.caseworker)
    assert client.get(reverse("cases:persons_export"), {"q": "欧阳", "sort": "-name"}).status_code == 200
    ListExport.objects.create(user=cz_team.caseworker, list_name="warnings", filters={"state": "open"}, rows=7)
    ListExport.objects.create(user=team.reviewer, list_name="cases_to_review",
                              filters={"queue": "to_review", "state": "submitted,in_review", "region": "360702"}, rows=3)
    client.force_login(team.auditor)
    body = client.get(reverse("audit:list_exports")).content.decode()
    # the filter in the list's own words: its filter labels, choice labels, region names, the sort column
    assert team.caseworker.display_name in body, shown(body)
    assert "人员列表" in body
    assert "身份证号（完整或脱敏）或姓名：欧阳；排序：姓名（降序）" in body, body
    assert "待办队列：待审核；状态：已受理、审核中；行政区划：章贡区" in body
    assert "q:" not in body and "sort:" not in body and "submitted" not in body and "360702" not in body
    assert cz_team.caseworker.display_name not in body  # another region's export is not shown
    assert reverse("audit:list_exports") in client.get(reverse("audit:log")).content.decode()  # a tab
    # filtered by operator and day
    body = client.get(reverse("audit:list_exports"), {"operator": team.reviewer.username}).content.decode()
    assert "欧阳" not in body and team.reviewer.display_name in body
    body = client.get(reverse("audit:list_exports"), {"date_to": "2000-01-01"}).content.decode()
    assert "欧阳" not in body
    # the Excel export of the tab
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(reverse("audit:export"), {"tab": "list_exports"}).content)).active
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert len(cells) == 3 and any(r[4] == 1 and "欧阳" in r[3] for r in cells[1:])
    # the other region's auditor sees theirs only; a superuser sees all
    client.force_login(cz_team.auditor)
    body = client.get(reverse("audit:list_exports")).content.decode()
    assert cz_team.caseworker.display_name in body and "欧阳" not in body
    client.force_login(make_user(superuser=True))
    body = client.get(reverse("audit:list_exports")).content.decode()
    assert cz_team.caseworker.display_name in body and "欧阳" in body


@pytest.mark.postgres
def test_a_drafts_pasted_document_text_is_on_the_change_log_with_who_and_old_to_new(client, team, cz_team):
    from policies import services as policy_services
    from policies.models import PolicyText, PolicyVersion, VersionStatus

    admin = make_user("policy_admin", region="360700", username="gz_text_admin")
    published = PolicyVersion.objects.get(region_id="360700", status=VersionStatus.PUBLISHED)
    draft = policy_services.start_version(acting_user=admin, from_version=published)
    with audit_context(channel="web", user=admin):
        policy_services.set_document_text(acting_user=admin, version=draft, text="第一条 旧的文字。", source="旧来源")
        policy_services.set_document_text(acting_user=admin, version=draft, text="第一条 新的文字。", source="市政府网站")
    text = PolicyText.objects.get(region_id="360700", document_number=draft.document_number)
    client.force_login(team.auditor)
    body = client.get(reverse("audit:log"), {"kind": "policy_text"}).content.decode()
    assert "政策文件全文" in body and admin.display_name in body
    assert "第一条 旧的文字。 → 第一条 新的文字。" in body or ("旧来源" in body and "市政府网站" in body)
    assert text.document_number in body
    # another region's auditor does not see 赣州's document
    client.force_login(cz_team.auditor)
    assert "市政府网站" not in client.get(reverse("audit:log"), {"kind": "policy_text"}).content.decode()
