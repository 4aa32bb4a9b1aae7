"""The policy editor's structured inputs, as a policy admin of a new city meets them: deductibles
offer only the kinds that mean something and show the inputs of the kind chosen; precedence,
announced amounts, cap pools, ratio adjustments and framework floors are chosen in words, never
typed as codes; every message names the parameter in Chinese."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from policies import editor, services
from policies.models import PolicyVersion, VersionStatus
from tests.e2e.english import english_words
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ROUTE = "assistance.routes[0]"


def _city(code="449400", name="结构市", start="blank"):
    from portal.regions.models import Region

    region, _ = Region.objects.get_or_create(code=code, defaults={"name": name, "level": "city", "parent_id": "440000"})
    return region, make_user("policy_admin", region=code, username=f"pa_{code}")


@pytest.fixture
def draft(client):
    region, admin = _city()
    client.force_login(admin)
    client.post(reverse("policies:version-new"), {"region": region.code, "start": "blank", "document_number": "结〔2024〕1号",
                                                  "title": "结构市办法", "in_force_from": "2024-01-01"})
    version = PolicyVersion.objects.get(region=region)
    leaf(client, version, "categories.recipients", checks="1", items=["tekun", "dibao", "dibao_edge"], clause="第二条")
    client.post(reverse("policies:version-structure", args=[version.pk]), {"op": "add_item", "path": "assistance.routes"})
    leaf(client, version, f"{ROUTE}.categories", checks="1", items=["dibao_edge"], clause="第三条")
    return version


def leaf(client, version, path, htmx=False, **fields):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("policies:version-leaf", args=[version.pk]), {"path": path, **fields}, **extra)


def params(version):
    version.refresh_from_db()
    return version.document["parameters"]


def node_of(version, path):
    version.refresh_from_db()
    stack = list(editor.tree(version.engine_document()))
    while stack:
        n = stack.pop()
        if n.path == path:
            return n
        stack.extend(n.children)
    raise AssertionError(path)


def shown_words(html: str) -> str:
    """The words a reader sees: text and option labels, without hidden inputs' spans."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r'(?s)<span[^>]*data-mode="[^"]*"[^>]*\shidden>.*?</span>\s*(?=<span|\s*</span>|<label|<select|<input|$)', " ", html)
    return re.sub(r"<[^>]+>", " ", html)


# ---------------------------------------------------------------------------------------------
# Deductibles and thresholds
# ---------------------------------------------------------------------------------------------


def test_each_deductible_offers_only_the_kinds_that_mean_something_there():
    assert editor.quantity_modes("assistance.routes[3].deductible") == ("none", "amount", "by_level", "fraction", "announced")
    assert editor.quantity_modes("tilted_rules[0].threshold") == ("none", "amount", "by_level", "fraction", "announced")
    # 大病保险 is not settled per hospital level and always has a deductible
    assert editor.quantity_modes("critical.deductible") == ("amount", "fraction", "announced")
    # a monitoring threshold is a figure × share or an amount
    assert editor.quantity_modes("monitoring.return_to_poverty.threshold") == ("amount", "fraction")


def test_the_route_deductible_shows_the_inputs_of_the_kind_chosen(client, draft):
    body = client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    dom = editor.dom_id(f"{ROUTE}.deductible")
    part = body[body.index(f'id="{dom}"'):]
    part = part[:part.index("</form>")]
    # unset: no kind's inputs are shown yet
    for mode in ("amount", "fraction", "by_level", "announced"):
        assert re.search(rf'data-mode="{mode}"[^>]*hidden', part), mode
    assert "按医院等级分别定额" in part and "每年公布的金额" in part and "不设" in part

    r = leaf(client, draft, f"{ROUTE}.deductible", mode="by_level", basis="per_claim", level1="300", level2="600",
             level3="1000", clause="第三条", htmx=True)
    assert r.status_code == 200 and "已保存" in r.content.decode()
    route = params(draft)["assistance"]["routes"][0]
    assert route["deductible"] == {"value": {"by_level": {"1": "300.00", "2": "600.00", "3": "1000.00"}}, "clause": "第三条"}
    assert route["deductible_basis"] == {"value": "per_claim", "clause": "第三条"}
    part = r.content.decode()
    assert not re.search(r'data-mode="by_level"[^>]*hidden', part)
    assert re.search(r'data-mode="amount"[^>]*hidden', part) and re.search(r'data-mode="announced"[^>]*hidden', part)
    node = node_of(draft, f"{ROUTE}.deductible")
    assert node.shown.startswith("每次") and "一级医院 300.00 元" in node.shown
    # the basis is chosen with the deductible, not shown as a parameter of its own
    assert all(n.path != f"{ROUTE}.deductible_basis" for n in _leaves(draft))

    # back to counting over the year, with a fixed amount
    leaf(client, draft, f"{ROUTE}.deductible", mode="amount", basis="annual", amount="2700", clause="第三条")
    route = params(draft)["assistance"]["routes"][0]
    assert route["deductible"]["value"] == "2700.00" and route["deductible_basis"]["value"] == "annual"
    assert node_of(draft, f"{ROUTE}.deductible").shown == "年度累计：2,700.00 元"


def _leaves(version):
    stack = list(editor.tree(params_doc(version)))
    while stack:
        n = stack.pop()
        stack.extend(n.children)
        if n.kind == "leaf":
            yield n


def params_doc(version):
    version.refresh_from_db()
    return version.engine_document()


def test_a_kind_that_does_not_apply_is_refused_naming_the_parameter(client, draft):
    r = leaf(client, draft, "critical.deductible", mode="by_level", level1="100", clause="第四条", htmx=True)
    body = r.content.decode()
    assert "大病保险" in body or "起付标准" in body
    assert "起付标准：此处不适用这种金额" in body and "按医院等级" not in body.split("errorlist")[1][:200]
    assert params(draft)["critical"]["deductible"]["value"] is None
    # a missing amount keeps the kind chosen and names the parameter
    r = leaf(client, draft, f"{ROUTE}.cap", mode="amount", amount="", clause="第三条", htmx=True)
    assert "年度救助限额：请填写金额" in r.content.decode()


def test_an_announced_amount_is_chosen_by_name_in_words(client, draft):
    node = node_of(draft, f"{ROUTE}.deductible")
    options = dict(node.widget["announced_options"])
    assert options["annual_deductible_dibao_edge"] == "低保边缘家庭成员年度起付标准"
    r = leaf(client, draft, f"{ROUTE}.deductible", mode="announced", basis="annual",
             announced="annual_deductible_dibao_edge", clause="第三条", htmx=True)
    assert "已保存" in r.content.decode()
    assert params(draft)["assistance"]["routes"][0]["deductible"]["value"] == {"announced": "annual_deductible_dibao_edge"}
    assert "低保边缘家庭成员年度起付标准" in node_of(draft, f"{ROUTE}.deductible").shown
    assert "annual_deductible" not in shown_words(r.content.decode())
    r = leaf(client, draft, f"{ROUTE}.deductible", mode="announced", announced="", clause="第三条", htmx=True)
    assert "救助起付标准：请选择公布的金额" in r.content.decode()


# ---------------------------------------------------------------------------------------------
# Lists chosen in words
# ---------------------------------------------------------------------------------------------


def test_precedence_is_chosen_in_order_from_the_recipients(client, draft):
    node = node_of(draft, "categories.precedence")
    assert node.widget["type"] == "order"
    assert [label for _v, label in node.widget["options"]] == ["特困人员", "低保对象", "低保边缘家庭成员"]
    leaf(client, draft, "categories.precedence", ordered="1", items=["tekun", "dibao", "dibao_edge", ""], clause="第二条")
    assert params(draft)["categories"]["precedence"]["value"] == ["tekun", "dibao", "dibao_edge"]
    r = leaf(client, draft, "categories.precedence", ordered="1", items=["dibao", "dibao", ""], clause="第二条", htmx=True)
    assert "低保对象重复列出" in r.content.decode() and "多重身份优先顺序" in r.content.decode()
    # a removed place (its box emptied) leaves the others in order
    leaf(client, draft, "categories.precedence", ordered="1", items=["tekun", "", "dibao_edge", ""], clause="第二条")
    assert params(draft)["categories"]["precedence"]["value"] == ["tekun", "dibao_edge"]


def test_cap_pools_are_chosen_as_entries_shared_or_own(client, draft):
    url = reverse("policies:version-structure", args=[draft.pk])
    client.post(url, {"op": "add_item", "path": "assistance.routes"})
    client.post(url, {"op": "item_text", "path": "assistance.routes[0]", "label": "住院救助"})
    client.post(url, {"op": "item_text", "path": "assistance.routes[1]", "label": "门诊救助"})
    node = node_of(draft, f"{ROUTE}.pool")
    assert node.widget["type"] == "select"
    own = [v for v, label in node.widget["options"] if label == "本项单独计算"]
    assert own
    leaf(client, draft, f"{ROUTE}.pool", selected=own[0], clause="第三条")
    other = node_of(draft, "assistance.routes[1].pool")
    shared = [v for v, label in other.widget["options"] if "住院救助" in label]
    assert shared == [own[0]]
    leaf(client, draft, "assistance.routes[1].pool", selected=shared[0], clause="第三条")
    assert node_of(draft, f"{ROUTE}.pool").shown == "与以下各项共用：门诊救助"
    r = leaf(client, draft, f"{ROUTE}.pool", selected="Bad Pool", clause="第三条", htmx=True)
    assert "共用限额（资金池）：请从列出的选项中选择" in r.content.decode()


def test_ratio_adjustments_are_rows_of_words(client, draft):
    client.post(reverse("policies:version-structure", args=[draft.pk]),
                {"op": "add_param", "path": f"{ROUTE}.ratio_adjustments"})
    node = node_of(draft, f"{ROUTE}.ratio_adjustments")
    assert node.widget["type"] == "adjustments" and ("level:1", "在一级医疗机构就医") in node.widget["places"]
    leaf(client, draft, f"{ROUTE}.ratio_adjustments", adj_where=["level:1", "location:out_of_province", ""],
         adj_dir=["up", "down", "up"], adj_points=["5", "10", ""], clause="第五条")
    assert params(draft)["assistance"]["routes"][0]["ratio_adjustments"]["value"] == [
        {"hospital_level": 1, "add": "0.05"}, {"location": "out_of_province", "add": "-0.1"}]
    node = node_of(draft, f"{ROUTE}.ratio_adjustments")
    assert "一级" in node.shown and "省外" in node.shown
    assert [r[:2] for r in node.widget["rows"]] == [("level:1", "up"), ("location:out_of_province", "down"), ("", "up")]
    r = leaf(client, draft, f"{ROUTE}.ratio_adjustments", adj_where=["level:2"], adj_dir=["up"], adj_points=[""],
             clause="第五条", htmx=True)
    body = r.content.decode()
    assert "救助比例调整（按医院等级或就医地）：请填写每项调整的百分点数" in body
    assert 'value="level:2" selected' in body  # what was chosen is kept
    r = leaf(client, draft, f"{ROUTE}.ratio_adjustments", adj_where=["level:2"], adj_dir=["up"], adj_points=["150"],
             clause="第五条", htmx=True)
    assert "不在0到100之间" in r.content.decode()
    # emptied rows: no adjustment
    leaf(client, draft, f"{ROUTE}.ratio_adjustments", adj_where=["", ""], adj_dir=["up", "up"], adj_points=["", ""],
         clause="第五条")
    assert params(draft)["assistance"]["routes"][0]["ratio_adjustments"]["value"] == []


def test_years_of_statistics_are_ticked_in_words(client, draft):
    node = node_of(draft, "statistics.years_back")
    assert [label for _v, label, _on in node.widget["options"]][:2] == ["上年度", "上上年度（上年度未公布时）"]
    leaf(client, draft, "statistics.years_back", checks="1", items=["1", "2"], clause="五(三)")
    assert params(draft)["statistics"]["years_back"]["value"] == [1, 2]


def test_a_frameworks_floors_are_rows_of_categories_and_a_ratio(client):
    admin = make_user("policy_admin", region="440000", username="gd_floor_admin")
    framework = PolicyVersion.objects.get(region_id="440000", status=VersionStatus.PUBLISHED)
    draft = services.start_version(acting_user=admin, from_version=framework)
    client.force_login(admin)
    client.post(reverse("policies:version-structure", args=[draft.pk]),
                {"op": "add_param", "path": "framework_rules.assistance_ratio_floors"})
    node = node_of(draft, "framework_rules.assistance_ratio_floors")
    assert node.widget["type"] == "floors" and "低保对象" in [label for _v, label, _on in node.widget["rows"][0][1]]
    leaf(client, draft, "framework_rules.assistance_ratio_floors", floors="1", floor0=["tekun", "dibao"],
         floor0_min="70%", clause="二(六)")
    assert params(draft)["framework_rules"]["assistance_ratio_floors"]["value"] == [
        {"categories": ["tekun", "dibao"], "min": "0.70"}]
    assert node_of(draft, "framework_rules.assistance_ratio_floors").shown == "特困人员、低保对象不低于 70%"
    r = leaf(client, draft, "framework_rules.assistance_ratio_floors", floors="2", floor0=["tekun"], floor0_min="",
             clause="二(六)", htmx=True)
    assert "医疗救助比例下限：请填写每条下限的最低比例" in r.content.decode()


# ---------------------------------------------------------------------------------------------
# The page in words; publishing against the framework
# ---------------------------------------------------------------------------------------------


def test_the_editor_and_its_history_show_no_codes_or_paths(client, draft):
    leaf(client, draft, f"{ROUTE}.deductible", mode="announced", basis="annual",
         announced="annual_deductible_dibao_edge", clause="第三条")
    leaf(client, draft, "categories.precedence", ordered="1", items=["tekun", "dibao"], clause="第二条")
    body = client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    editor_part = body[body.index('<div class="editor">'):body.index('<h2 id="examples"')]
    history = body[body.index('<table', body.index('id="history"')):]
    for part in (editor_part, history):
        words = shown_words(part)
        assert "assistance.routes" not in words and "categories.precedence" not in words
        assert not [w for w in english_words(words) if not w.startswith("pa_")], english_words(words)  # the user's login is a name


def test_publishing_a_draft_that_breaks_its_frameworks_floor_names_the_frameworks_clause(client):
    gd = make_user("policy_admin", region="440000", username="gd_floor_pub")
    framework = PolicyVersion.objects.get(region_id="440000", status=VersionStatus.PUBLISHED)
    fw_draft = services.start_version(acting_user=gd, from_version=framework)
    fw_draft = services.add_optional_parameter(acting_user=gd, version=fw_draft, path="framework_rules.assistance_ratio_floors")
    fw_draft = services.set_parameter(acting_user=gd, version=fw_draft, path="framework_rules.assistance_ratio_floors",
                                      value=[{"categories": ["dibao"], "min": "0.70"}])
    fw_draft = services.set_clause(acting_user=gd, version=fw_draft, path="framework_rules.assistance_ratio_floors",
                                   clause="二(六)")
    # a city draft of a 60 % route for 低保对象, saved before the floor was published (e.g. imported)
    region, admin = _city("449300", "下限市")
    client.force_login(admin)
    client.post(reverse("policies:version-new"), {"region": region.code, "start": "blank", "document_number": "限〔2024〕1号",
                                                  "title": "下限市办法", "in_force_from": "2024-01-01"})
    city = PolicyVersion.objects.get(region=region)
    leaf(client, city, "categories.recipients", checks="1", items=["dibao"], clause="第二条")
    client.post(reverse("policies:version-structure", args=[city.pk]), {"op": "add_item", "path": "assistance.routes"})
    client.post(reverse("policies:version-structure", args=[city.pk]), {"op": "add_param", "path": f"{ROUTE}.ratio"})
    leaf(client, city, f"{ROUTE}.categories", checks="1", items=["dibao"], clause="第三条")
    leaf(client, city, f"{ROUTE}.ratio", text="60%", clause="第三条")
    services.publish_version(acting_user=gd, version=fw_draft, in_force_from=fw_draft.in_force_from,
                             confirm_document=fw_draft.document_number)
    response = client.post(reverse("policies:version-publish", args=[city.pk]),
                           {"in_force_from": "2024-01-01", "confirm_document": city.document_number})
    text = response.content.decode()
    assert response.status_code == 400
    refusal = re.findall(r'<div class="alert alert-error">(.*?)</div>', text)
    assert any("粤府办〔2022〕40号 二(六)" in r and "低保对象的救助比例不得低于 70%（现为 60%）" in r for r in refusal), refusal
    assert not any("assistance.routes" in r or "dibao" in r for r in refusal)


def test_a_new_citys_document_text_put_on_file_shows_each_clause_with_its_words(client, draft):
    body = client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    assert "本文件全文未存档" in body or "保存文件全文" in body
    text = ("结构市医疗救助办法\n第一条 为了保障困难群众基本医疗权益，制定本办法。\n"
            "第二条 救助对象为特困人员、低保对象和低保边缘家庭成员。\n第三条 低保边缘家庭成员住院救助比例为65%。\n")
    assert client.post(reverse("policies:version-text", args=[draft.pk]), {"text": "  "}).status_code == 302
    assert "请粘贴文件全文" in client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    client.post(reverse("policies:version-text", args=[draft.pk]), {"text": text, "source": "市政府网站"})
    node = next(n for n in _leaves(draft) if n.path == f"{ROUTE}.categories")
    assert node.clause == "第三条"
    body = client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    assert "第三条低保边缘家庭成员住院救助比例为65%。" in body and "第二条救助对象为特困人员" in body
    history = body[body.index('<table', body.index('id="history"')):]
    assert "文件全文" in history and "市政府网站" in history
    # another region's admin cannot put a text on this draft
    client.force_login(make_user("policy_admin", region="360700", username="gz_text_other"))
    assert client.post(reverse("policies:version-text", args=[draft.pk]), {"text": text}).status_code == 404
