"""The policy pages as their users meet them: in Chinese, inside their region, only what they may do."""
from __future__ import annotations

import datetime
import json

import pytest
from django.urls import reverse

from policies import services
from policies.editor import dom_id
from policies.models import ChangeAction, PolicyVersion, Statistic, VersionStatus
from tests.factories import make_user

from .conftest import load_example, route_index, whatif_data

pytestmark = pytest.mark.django_db
D = datetime.date


def page(client, url, **kwargs):
    response = client.get(url, **kwargs)
    return response, response.content.decode()


def test_menu_entries_for_policy_admins_and_auditors_only(client, gz_admin, gz_auditor):
    for user in (gz_admin, gz_auditor):
        client.force_login(user)
        _, body = page(client, reverse("home"))
        assert "政策版本" in body and "统计数据" in body and "政策测算" in body
    client.force_login(make_user("caseworker", region="360700"))
    _, body = page(client, reverse("home"))
    assert "政策版本" not in body
    assert client.get(reverse("policies:versions")).status_code == 403
    assert client.get(reverse("policies:whatif")).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("policies:versions"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_list_shows_the_regions_versions_and_not_another_regions(client, gz_admin, ganzhou, cangzhou):
    client.force_login(gz_admin)
    response, body = page(client, reverse("policies:versions"))
    assert response.status_code == 200
    assert ganzhou.document_number in body and "已发布" in body and "今日有效" in body
    assert cangzhou.document_number not in body


def test_a_cangzhou_admin_cannot_open_or_change_ganzhous_versions(client, gz_admin, cz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client.force_login(cz_admin)
    for version in (ganzhou, draft):
        assert client.get(reverse("policies:version", args=[version.pk])).status_code == 404
    path = f"p:assistance.routes[{route_index(ganzhou, 'dibao')}].ratio"
    assert client.post(reverse("policies:version-parameters", args=[draft.pk]), {path: "10%"}).status_code == 404
    assert client.post(reverse("policies:version-publish", args=[draft.pk]), {"in_force_from": "2024-01-01"}).status_code == 404
    assert client.post(reverse("policies:version-start", args=[ganzhou.pk])).status_code == 404
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT and not draft.changes.filter(action=ChangeAction.PARAMETER).exists()


def test_a_version_shows_every_parameter_with_label_value_and_clause(client, gz_admin, cangzhou, cz_admin):
    client.force_login(cz_admin)
    response, body = page(client, reverse("policies:version", args=[cangzhou.pk]))
    assert response.status_code == 200
    rows = services.engine.parameter_leaves(cangzhou.document)
    for leaf in rows:
        assert f'id="{dom_id(leaf.path)}"' in body
        assert leaf.path not in visible_text(body)  # paths are for machines; the page names parameters in words
    # 沧州 leaves the jiance deductible to the province: shown as unset, with its clause and its words
    jiance = route_index(cangzhou, "jiance")
    assert "未设定" in body
    row = body[body.index(f'id="p-assistance-routes-{jiance}-deductible"'):]
    assert "未设定" in row[:1500] and "二(三)" in row[:1500] and "合理确定基本救助水平" in row[:1500]
    assert "70%" in body and "20,000.00 元" in body  # 70 % and the 20 000 cap, as people read them
    assert "以此版本为基础新建版本" in body  # a published version offers a new draft, not editing
    assert "/leaf/" not in body


def test_an_auditor_reads_but_changes_nothing(client, gz_admin, gz_auditor, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client.force_login(gz_auditor)
    response, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert response.status_code == 200
    assert "/leaf/" not in body and "发布此版本" not in body and "以此版本为基础新建版本" not in body
    assert "只有本地区的政策管理员可以修改此草稿" in body
    path = f"p:assistance.routes[{route_index(ganzhou, 'dibao')}].ratio"
    assert client.post(reverse("policies:version-parameters", args=[draft.pk]), {path: "80%"}).status_code == 403
    assert client.post(reverse("policies:version-publish", args=[draft.pk]), {"in_force_from": "2024-01-01"}).status_code == 403
    assert client.post(reverse("policies:version-start", args=[ganzhou.pk])).status_code == 403
    _, body = page(client, reverse("policies:statistics"))
    assert "录入或修改统计数据" not in body
    assert client.post(reverse("policies:statistics"), {"region": "360700"}).status_code == 403


def test_start_edit_and_publish_a_version_in_the_browser(client, gz_admin, ganzhou):
    client.force_login(gz_admin)
    response = client.post(reverse("policies:version-start", args=[ganzhou.pk]))
    draft = PolicyVersion.objects.get(status=VersionStatus.DRAFT, based_on=ganzhou)
    assert response["Location"] == reverse("policies:version", args=[draft.pk])
    _, body = page(client, response["Location"])
    assert "发布此版本" in body and "/leaf/" in body

    dibao = route_index(ganzhou, "dibao")
    ratio, cap = f"assistance.routes[{dibao}].ratio", f"assistance.routes[{dibao}].cap"
    leaf_url = reverse("policies:version-leaf", args=[draft.pk])
    assert client.post(leaf_url, {"path": ratio, "text": "80%", "clause": "五(三)"}).status_code == 302
    response = client.post(leaf_url, {"path": cap, "mode": "amount", "amount": "-5", "clause": "五(三)"})
    body = response.content.decode()
    assert response.status_code == 400
    # the bad one: an error next to it, naming it and the reason
    row = body[body.index(f'id="p-assistance-routes-{dibao}-cap"'):][:4000]
    assert "has-error" in body and "errorlist" in row and "年度救助限额" in row
    draft.refresh_from_db()
    routes = draft.document["parameters"]["assistance"]["routes"]
    assert routes[dibao]["ratio"]["value"] == "0.80" and routes[dibao]["cap"]["value"] == "50000.00"

    response = client.post(reverse("policies:version-publish", args=[draft.pk]),
                           {"in_force_from": "2024-01-01", "in_force_to": "", "retroactive_from": "",
                            "confirm_document": draft.document_number})
    assert response.status_code == 302
    draft.refresh_from_db()
    ganzhou.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED and ganzhou.in_force_to == D(2023, 12, 31)
    _, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert "变更记录" in body and "修改参数" in body and "75% → <strong>80%</strong>" in body and "发布" in body
    assert gz_admin.display_name in body
    _, body = page(client, reverse("policies:version", args=[ganzhou.pk]))
    assert "调整有效期" in body and "2023-12-31" in body


def test_publish_errors_are_shown_on_the_form(client, gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client.force_login(gz_admin)
    response = client.post(reverse("policies:version-publish", args=[draft.pk]),
                           {"in_force_from": "2024-01-01", "retroactive_from": "2024-02-01"})
    body = response.content.decode()
    assert response.status_code == 400 and "追溯执行日期晚于施行日期" in body
    assert 'value="2024-02-01"' in body
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_a_county_admin_reads_the_citys_version_and_starts_its_own(client, ganzhou):
    county_admin = make_user("policy_admin", region="360702")
    client.force_login(county_admin)
    _, body = page(client, reverse("policies:versions"))
    assert ganzhou.document_number in body and "只读" in body
    response, body = page(client, reverse("policies:version", args=[ganzhou.pk]))
    assert "章贡区" in body  # offered: a version for the county, from the city's
    response = client.post(reverse("policies:version-start", args=[ganzhou.pk]), {"region": "360702"})
    draft = PolicyVersion.objects.get(region_id="360702")
    assert response["Location"] == reverse("policies:version", args=[draft.pk]) and draft.is_draft


def test_statistics_are_entered_changed_and_their_history_shown(client, gz_admin):
    client.force_login(gz_admin)
    data = {"region": "360700", "kind": "city_income", "year": "2022", "value": "32000.00", "source": "赣州市统计公报"}
    assert client.post(reverse("policies:statistics"), data).status_code == 302
    data.update(value="32500.00", source="赣州市统计公报（修订）")
    assert client.post(reverse("policies:statistics"), data).status_code == 302
    _, body = page(client, reverse("policies:statistics"))
    assert "32500.00" in body and "录入统计数据" in body and "修改统计数据" in body and "32000.00 → " in body
    stat = Statistic.objects.get()
    _, body = page(client, reverse("policies:statistics") + f"?edit={stat.pk}")
    assert 'value="32500.00"' in body


def test_bad_statistics_input_keeps_what_was_typed(client, gz_admin):
    client.force_login(gz_admin)
    data = {"region": "360700", "kind": "city_income", "year": "2022", "value": "3200.005", "source": "公报"}
    response = client.post(reverse("policies:statistics"), data)
    body = response.content.decode()
    assert response.status_code == 400 and 'value="3200.005"' in body and 'value="公报"' in body
    assert not Statistic.objects.exists()


def test_a_cangzhou_admin_cannot_enter_ganzhous_statistics(client, cz_admin, gz_admin):
    services.set_statistic(acting_user=gz_admin, region=gz_admin.role_assignments.get().region, kind="city_income",
                           year=2022, value="32000.00", source="赣州市统计公报")
    client.force_login(cz_admin)
    _, body = page(client, reverse("policies:statistics"))
    assert "赣州市统计公报" not in body
    data = {"region": "360700", "kind": "city_income", "year": "2022", "value": "1.00", "source": "x"}
    response = client.post(reverse("policies:statistics"), data)
    assert response.status_code == 400
    assert Statistic.objects.get().value == 32000
    stat = Statistic.objects.get()
    assert client.get(reverse("policies:statistics") + f"?edit={stat.pk}").status_code == 404


def test_what_if_starts_from_an_example_and_settles_with_a_draft(client, gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    dibao = route_index(ganzhou, "dibao")
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{dibao}].ratio", value="0.80")
    client.force_login(gz_admin)
    response, body = page(client, reverse("policies:whatif") + f"?version={draft.pk}")
    assert response.status_code == 200 and f'value="{draft.pk}" selected' in body
    assert 'name="claim-0-total"' in body and "&quot;region&quot;" not in body  # rows, not JSON

    payload, _ = load_example("ganzhou_class2_annual_cap")
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(draft.pk), every=True))
    body = response.content.decode()
    assert response.status_code == 200
    assert "测算结果" in body and "草稿" in body and "低保对象" in body
    assert "24,000.00" in body  # 30 000 × 80 % under the draft, where the published version pays 22 500
    assert "该类别普通门诊不予救助" in body  # why the general-outpatient claim got nothing
    assert "已达年度救助限额" in body
    assert ganzhou.document["parameters"]["assistance"]["routes"][dibao]["label"] in body  # the route as the document names it
    assert "2023-06-15 门诊特殊慢性病" in body


def test_what_if_explains_a_refusal_naming_the_field(client, cz_admin):
    client.force_login(cz_admin)
    payload, _ = load_example("error_scope_over_total")
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="130900"))
    body = response.content.decode()
    assert response.status_code == 400
    assert "未计算" in body and "政策范围内费用多于医疗总费用" in body


def test_what_if_names_a_missing_statistic(client, gz_admin):
    client.force_login(gz_admin)
    payload, _ = load_example("ganzhou_class3_deductible_across_claims")
    del payload["statistics"]
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700"))
    body = response.content.decode()
    assert response.status_code == 400
    assert "缺少地区 赣州市" in body and "城乡居民人均可支配收入" in body and "统计数据" in body


def test_what_if_stays_inside_the_users_regions(client, gz_admin, cz_admin, cangzhou):
    cz_draft = services.start_version(acting_user=cz_admin, from_version=cangzhou)
    client.force_login(gz_admin)
    payload, _ = load_example("cangzhou_dibao_edge_deductible")
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="130900"))
    assert response.status_code == 400 and "130900" not in response.content.decode().split('name="region"')[1].split("</select>")[0]
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(cz_draft.pk)))
    assert response.status_code == 400
    assert f'value="{cz_draft.pk}"' not in response.content.decode()


def test_what_if_reports_broken_json(client, gz_admin):
    client.force_login(gz_admin)
    response = client.post(reverse("policies:whatif"), {"region": "360700", "version_a": "in_force", "version_b": "",
                                                        "paste": "1", "pasted": '{"region": "360700",'})
    body = response.content.decode()
    assert response.status_code == 400 and "JSON 格式有误" in body and '{&quot;region&quot;: &quot;360700&quot;,' in body


def test_a_policy_file_is_downloaded_and_uploaded_on_the_pages(client, gz_admin, gz_auditor, ganzhou,
                                                               django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from policies.models import PolicyImport

    client.force_login(gz_auditor)
    _, body = page(client, reverse("policies:version", args=[ganzhou.pk]))
    assert "下载政策文件" in body
    _, body = page(client, reverse("policies:versions"))
    assert "导入政策文件" not in body  # auditors read, they do not import
    downloaded = client.get(reverse("policies:version-file", args=[ganzhou.pk]))
    assert downloaded.status_code == 200 and "attachment" in downloaded["Content-Disposition"]
    content = downloaded.content

    def upload(data):
        """Post the form; the worker runs on commit (eager). Returns the import page it leads to."""
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("policies:version-import"), data)
        record = PolicyImport.objects.latest("id")
        assert response.status_code == 302 and response["Location"] == reverse("policies:import", args=[record.pk])
        return record, page(client, response["Location"])[1]

    client.force_login(gz_admin)
    _, body = page(client, reverse("policies:versions"))
    assert "导入政策文件" in body
    doc = json.loads(content)
    doc["parameters"]["assistance"]["routes"][1]["ratio"]["value"] = "1.2"
    doc["parameters"]["assistance"]["routes"][2]["cap"]["value"] = "-1"
    record, text = upload({"region": "", "file": SimpleUploadedFile("赣州.json", json.dumps(doc).encode())})
    assert record.status == "failed" and "文件未导入" in text
    # each problem names the parameter in the editor's words, not its path
    assert "第2条救助路径 的 救助比例：应在 0 至 1 之间" in text and "第3条救助路径 的 年度救助限额" in text, text
    assert "assistance.routes" not in text
    assert not PolicyVersion.objects.filter(status=VersionStatus.DRAFT).exists()
    record, text = upload({"file": SimpleUploadedFile("x.json", b"\xff\xfe{")})
    assert record.status == "failed" and "UTF-8" in text
    empty = client.post(reverse("policies:version-import"), {"file": SimpleUploadedFile("x.json", b"")})
    assert empty.status_code == 400  # refused in the request (nothing stored): the form says why

    record, text = upload({"region": "360700", "file": SimpleUploadedFile("赣州.json", content)})
    draft = PolicyVersion.objects.get(status=VersionStatus.DRAFT)
    assert record.status == "done" and record.version == draft
    assert reverse("policies:version", args=[draft.pk]) in text and "hx-trigger" not in text
    assert draft.engine_document() == ganzhou.engine_document()
    _, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert "赣州.json" in body  # the history says where the draft came from


# ---------------------------------------------------------------------------------------------
# A new city in the browser's pages (without JavaScript: each form posts on its own)
# ---------------------------------------------------------------------------------------------

CODES = ("dibao", "fanpin", "outpatient_general", "inpatient", "assistance.routes", "city_income", "none", "tekun", "annual")


def visible_text(html: str) -> str:
    """What a reader sees: the text outside tags (values of inputs are not shown words)."""
    import re

    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def _new_city(code="449800", name="测试市"):
    from portal.regions.models import Region

    region, _ = Region.objects.get_or_create(code=code, defaults={"name": name, "level": "city", "parent_id": "440000"})
    return region, make_user("policy_admin", region=code, username=f"pa_{code}")


def _leaf(client, version, path, **fields):
    return client.post(reverse("policies:version-leaf", args=[version.pk]), {"path": path, **fields})


def test_a_new_city_starts_from_the_framework_and_is_entered_in_words(client):
    region, admin = _new_city()
    client.force_login(admin)
    _, body = page(client, reverse("policies:versions"))
    assert "为地区新建政策" in body and "粤府办〔2022〕40号" in body
    framework = PolicyVersion.objects.get(region_id="440000", status=VersionStatus.PUBLISHED)
    response = client.post(reverse("policies:version-new"), {
        "region": region.code, "start": str(framework.pk), "document_number": "测试市医保规〔2024〕1号",
        "title": "测试市医疗救助办法", "in_force_from": "2024-01-01"})
    draft = PolicyVersion.objects.get(region=region)
    assert response.status_code == 302 and draft.status == VersionStatus.DRAFT and not draft.framework
    assert "framework_rules" not in draft.document["parameters"]
    response, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert response.status_code == 200
    assert "救助对象类别" in body and "添加救助路径" in body
    assert "低保对象" in body and "住院" in body  # choices as words
    # the framework's clauses come with their words (its text is on file)
    assert "对特困人员、孤儿、低保对象不设年度救助起付标准" in body or "二(四)" not in body

    r = _leaf(client, draft, "categories.recipients", checks="1", items=["tekun", "dibao"], clause="第二条")
    assert r.status_code == 400 and "孤儿" in r.content.decode()  # the framework's routes still name it
    everyone = ["tekun", "orphan", "dibao", "dibao_edge", "jiance", "illness_poverty", "other_special"]
    r = _leaf(client, draft, "categories.recipients", checks="1", items=everyone, clause="第二条")
    assert r.status_code == 302
    _leaf(client, draft, "categories.precedence", text="特困人员、孤儿、低保对象、低保边缘家庭成员", clause="第二条")
    draft.refresh_from_db()
    precedence = draft.document["parameters"]["categories"]["precedence"]
    assert (precedence["value"], precedence["clause"]) == (["tekun", "orphan", "dibao", "dibao_edge"], "第二条")

    # the framework's routes leave every number to the city: this city writes its own route instead
    for _ in draft.document["parameters"]["assistance"]["routes"]:
        client.post(reverse("policies:version-structure", args=[draft.pk]), {"op": "remove_item", "path": "assistance.routes[0]"})
    client.post(reverse("policies:version-structure", args=[draft.pk]), {"op": "add_item", "path": "assistance.routes"})
    draft.refresh_from_db()
    routes = draft.document["parameters"]["assistance"]["routes"]
    assert len(routes) == 1
    base = "assistance.routes[0]"
    client.post(reverse("policies:version-structure", args=[draft.pk]),
                {"op": "item_text", "path": base, "name": "basic", "label": "特困人员、低保对象住院救助"})
    _leaf(client, draft, f"{base}.categories", checks="1", items=["tekun", "dibao"], clause="第三条")
    _leaf(client, draft, f"{base}.kinds", checks="1", items=["inpatient"], clause="第三条")
    client.post(reverse("policies:version-structure", args=[draft.pk]), {"op": "add_param", "path": f"{base}.ratio"})
    refused = _leaf(client, draft, f"{base}.deductible", mode="amount", amount="500", fraction="", statistic="", clause="第三条")
    assert refused.status_code == 400 and "粤府办〔2022〕40号" in refused.content.decode() and "二(四)" in refused.content.decode()
    _leaf(client, draft, f"{base}.deductible", mode="none", clause="第三条")
    _leaf(client, draft, f"{base}.ratio", text="70%", clause="第三条")
    _leaf(client, draft, f"{base}.pool", text="annual", clause="第三条")
    _leaf(client, draft, f"{base}.cap", mode="amount", amount="30000", clause="第三条")
    bad = _leaf(client, draft, f"{base}.ratio", text="120%", clause="第三条")
    assert bad.status_code == 400 and "救助比例" in bad.content.decode()
    draft.refresh_from_db()
    route = draft.document["parameters"]["assistance"]["routes"][-1]
    assert route["ratio"] == {"value": "0.70", "clause": "第三条"} and route["label"] == "特困人员、低保对象住院救助"

    # a draft saved with a deductible the framework forbids (e.g. imported before the framework was
    # published) is refused at publishing, naming the framework's clause
    doc = draft.document
    doc["parameters"]["assistance"]["routes"][-1]["deductible"]["value"] = "500.00"
    PolicyVersion.objects.filter(pk=draft.pk).update(document=doc)
    response = client.post(reverse("policies:version-publish", args=[draft.pk]), {"in_force_from": "2024-01-01",
                                                                                 "confirm_document": draft.document_number})
    text = response.content.decode()
    assert response.status_code == 400 and "粤府办〔2022〕40号" in text and "二(四)" in text
    assert 'id="problems"' in text and "发布前还有" in text
    _leaf(client, draft, f"{base}.deductible", mode="none", clause="第三条")
    response, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert "不设" in body
    shown = visible_text(body.split('<div class="editor">')[1].split('id="history"')[0])
    for code in CODES:
        assert code not in shown, code
    # this city has no tilted assistance: the part started from the framework is removed
    client.post(reverse("policies:version-structure", args=[draft.pk]), {"op": "remove_group", "path": "tilted"})
    draft.refresh_from_db()
    assert "tilted" not in draft.document["parameters"]
    response = client.post(reverse("policies:version-publish", args=[draft.pk]),
                           {"in_force_from": "2024-01-01", "confirm_document": draft.document_number})
    assert response.status_code == 302, response.content.decode()[-3000:]
    result = services.settle_payload(payload={
        "region": region.code,
        "person": {"residence": "rural", "scheme": "resident", "identities": [{"category": "dibao", "start": "2023-01-01", "end": None}]},
        "claims": [{"id": "a", "date": "2024-03-01", "kind": "inpatient", "hospital_level": 2, "location": "county",
                    "referral_compliant": True, "total": "12000.00", "policy_scope": "10000.00",
                    "basic_paid": "6000.00", "critical_paid": "0.00"}]})
    assert result["claims"][0]["assistance"] == "2800.00"  # 70 % of 4 000


def test_entries_and_optional_parameters_are_added_and_removed(client):
    region, admin = _new_city("449700", "样例市")
    client.force_login(admin)
    client.post(reverse("policies:version-new"), {"region": region.code, "start": "blank", "document_number": "样〔2024〕1号",
                                                  "title": "样例市办法", "in_force_from": "2024-01-01"})
    draft = PolicyVersion.objects.get(region=region)
    assert draft.document["parameters"]["assistance"]["routes"] == []
    url = reverse("policies:version-structure", args=[draft.pk])
    client.post(url, {"op": "add_item", "path": "assistance.routes"})
    client.post(url, {"op": "add_item", "path": "assistance.routes"})
    client.post(url, {"op": "add_param", "path": "assistance.routes[1].segments"})
    draft.refresh_from_db()
    routes = draft.document["parameters"]["assistance"]["routes"]
    assert len(routes) == 2 and "segments" in routes[1] and routes[0]["name"] != routes[1]["name"]
    # segments: 20 000 at 75 %, above at 80 % (示例市 第五条（二）); a third row added, then cleared again
    leaf = reverse("policies:version-leaf", args=[draft.pk])
    client.post(leaf, {"path": "assistance.routes[1].segments", "up_to": ["20000", "", ""], "ratio": ["75%", "80%", ""], "clause": "第五条（二）"})
    draft.refresh_from_db()
    assert draft.document["parameters"]["assistance"]["routes"][1]["segments"]["value"] == [
        {"up_to": "20000.00", "ratio": "0.75"}, {"up_to": "none", "ratio": "0.80"}]
    _, body = page(client, reverse("policies:version", args=[draft.pk]))
    assert "20,000.00" in body and "80%" in body
    client.post(url, {"op": "remove_param", "path": "assistance.routes[1].segments"})
    client.post(url, {"op": "remove_item", "path": "assistance.routes[0]"})
    draft.refresh_from_db()
    routes = draft.document["parameters"]["assistance"]["routes"]
    assert len(routes) == 1 and "segments" not in routes[0]
    # several tilted rules: added and removed like routes
    client.post(url, {"op": "add_item", "path": "tilted_rules"})
    client.post(url, {"op": "add_item", "path": "tilted_rules"})
    client.post(url, {"op": "remove_item", "path": "tilted_rules[0]"})
    draft.refresh_from_db()
    assert len(draft.document["parameters"]["tilted_rules"]) == 1
    actions = list(draft.changes.values_list("label", flat=True))
    assert any("救助路径" in a for a in actions)
    other = make_user("policy_admin", region="360700", username="gz_other")
    client.force_login(other)
    assert client.post(url, {"op": "add_item", "path": "assistance.routes"}).status_code == 404


def test_an_edit_with_htmx_answers_the_parameter_and_the_drafts_problems(client):
    region, admin = _new_city("449600", "演示市")
    client.force_login(admin)
    client.post(reverse("policies:version-new"), {"region": region.code, "start": "blank", "document_number": "演〔2024〕1号",
                                                  "title": "演示市办法", "in_force_from": "2024-01-01"})
    draft = PolicyVersion.objects.get(region=region)
    r = client.post(reverse("policies:version-leaf", args=[draft.pk]),
                    {"path": "categories.recipients", "checks": "1", "items": ["dibao"], "clause": "第二条"},
                    HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and "已保存" in body and 'id="problems"' in body and "hx-swap-oob" in body
    r = client.post(reverse("policies:version-leaf", args=[draft.pk]),
                    {"path": "categories.precedence", "text": "特困人员", "clause": "第二条"}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and "特困人员" in body and "errorlist" in body  # not one of the recipients


@pytest.mark.parametrize("op, path", [
    ("add_item", "assistance.routes"), ("add_item", "nope"), ("add_item", "assistance"), ("add_item", ""),
    ("remove_item", "assistance.routes[99]"), ("remove_item", "x[0]"), ("remove_item", "assistance.routes[abc]"),
    ("add_param", "assistance.routes[0].ratio"), ("add_param", "assistance.routes[7].ratio"), ("add_param", "a.b.c"),
    ("remove_param", "categories.recipients"), ("remove_param", "zzz"), ("add_group", "nope"), ("remove_group", "categories"),
    ("item_text", "assistance.routes[0]"), ("item_text", "assistance.routes[9]"), ("bogus", "x"),
])
def test_odd_editor_requests_never_fail_the_server(client, op, path):
    region, admin = _new_city("449500", "怪异市")
    client.force_login(admin)
    client.post(reverse("policies:version-new"), {"region": region.code, "start": "blank", "document_number": "怪〔2024〕1号",
                                                  "title": "怪异市办法", "in_force_from": "2024-01-01"})
    draft = PolicyVersion.objects.get(region=region)
    if op != "add_item":
        client.post(reverse("policies:version-structure", args=[draft.pk]), {"op": "remove_group", "path": "assistance"})
    response = client.post(reverse("policies:version-structure", args=[draft.pk]),
                           {"op": op, "path": path, "name": "Bad Name!", "label": ""})
    assert response.status_code in (302, 400, 403)
    for fields in ({"path": path}, {"path": path, "text": "{[", "mode": "fraction", "fraction": "x"},
                   {"path": "assistance.routes[0].deductible", "mode": "by_level", "level1": "1e400"},
                   {"path": "categories.recipients", "checks": "1", "items": ["nobody"]}):
        response = client.post(reverse("policies:version-leaf", args=[draft.pk]), fields)
        assert response.status_code in (302, 400), fields


def _row(body: str, claim_id: str) -> str:
    """The result table's row of claim ``claim_id``."""
    start = body.index(f"<tr>\n        <td>{claim_id}<div")
    return body[start:body.index("</tr>", start)]


def _whatif_row(body: str, claim: str) -> str:
    start = body.index(f'data-claim="{claim}"')
    return body[start:body.index("</tr>", start)]


def test_what_if_says_which_version_settled_each_claim_and_flags_those_the_chosen_one_does_not_cover(
    client, gz_admin, ganzhou
):
    # The draft is planned to be in force from 2023-06-01: the example's claim of 2023-02-01 is
    # settled by the published version in force then, and the page must say so, not pass it off
    # as the draft's.
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.update_version_meta(acting_user=gz_admin, version=draft, in_force_from=D(2023, 6, 1),
                                 in_force_to=None, retroactive_from=None)
    client.force_login(gz_admin)
    payload, _ = load_example("ganzhou_class2_annual_cap")  # claims a 2023-02-01, b 2023-06-15, c 2023-08-20
    response = client.post(reverse("policies:whatif"), whatif_data(payload, region="360700", a=str(draft.pk)))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"{draft.document_number}（草稿，#{draft.pk}）" in body
    assert "该版本适用于结算日期在 2023-06-01 及以后的费用" in body
    assert "1 笔费用的日期不在" in body
    row = _whatif_row(body, "a")
    assert "所选版本不适用于该日期" in row and f"#{ganzhou.pk}" in row and f"#{draft.pk}" not in row
    for claim in ("b", "c"):
        row = _whatif_row(body, claim)
        assert f"#{draft.pk}" in row and "所选版本不适用" not in row

    # Every claim inside the chosen version's period: no warning.
    later = {**payload, "claims": [c for c in payload["claims"] if c["id"] != "a"]}
    response = client.post(reverse("policies:whatif"), whatif_data(later, region="360700", a=str(draft.pk)))
    body = response.content.decode()
    assert response.status_code == 200 and "的日期不在" not in body and "所选版本不适用" not in body
