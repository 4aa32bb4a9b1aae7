"""A policy admin of a new city under 广东省 enters its policy in the browser — from the province's
framework, in Chinese words, each change saved and checked as it is made (htmx) — publishes it and
settles a claim under it in the what-if. The precedence is chosen in order from the recipients, the
deductible's kind shows only its own inputs (and a kind the framework forbids is refused naming the
framework's clause), the cap pool is chosen in words and a ratio adjustment is a row of choices."""
import json

import pytest

from policies.models import PolicyVersion
from portal.regions.models import Region
from tests.e2e.conftest import login
from tests.e2e.english import english_words
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CODES = ("dibao", "tekun", "inpatient", "outpatient", "assistance.routes", "city_income", "none", "annual")


def saved(page, action):
    """Do ``action`` on a parameter and wait until htmx has saved it and swapped it in."""
    page.wait_for_function("() => window.htmx && document.readyState === 'complete'")
    with page.expect_response(lambda r: "/leaf/" in r.url and r.request.method == "POST"):
        action()
    page.wait_for_timeout(150)


def test_a_new_city_is_entered_published_and_settles_a_claim(new_page, shots):
    Region.objects.create(code="449800", name="测试市", level="city", parent_id="440000")
    make_user("policy_admin", region="449800", username="cs_policy_e2e")
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "cs_policy_e2e", PASSWORD)

    page.goto("/policies/")
    page.select_option("#id_start", label="广东省的框架文件 粤府办〔2022〕40号")
    page.fill("#id_document_number", "测试市医保规〔2024〕1号")
    page.fill("#id_title", "测试市医疗救助办法")
    page.fill("#new #id_in_force_from", "2024-01-01")
    page.click("text=开始起草")
    page.wait_for_selector(".editor")
    shots(page, "draft-from-framework")
    draft = PolicyVersion.objects.get(region_id="449800")
    assert draft.status == "draft" and not draft.framework
    # the framework's clauses come with their words
    assert "不设年度救助起付标准" in page.inner_text(".editor")

    # the precedence: chosen in order from the recipients, each choice adding the next place
    for name in ("特困人员", "孤儿", "低保对象"):
        saved(page, lambda name=name: page.locator("#p-categories-precedence select[name=items]").last.select_option(label=name))
    assert page.locator("#p-categories-precedence select[name=items]").count() == 4
    # this city writes its own single route: the framework's routes and single tilted rule go
    while page.locator("#p-assistance-routes-0").count():
        page.locator("#p-assistance-routes-0 .ed-item-head button.danger").click()
        page.wait_for_load_state()
    page.locator("#p-tilted h3 button").click()
    page.wait_for_load_state()
    page.click("text=添加救助路径")
    page.wait_for_selector("#p-assistance-routes-0")
    page.fill("#p-assistance-routes-0 input[name=label]", "特困人员、低保对象住院救助")
    page.click("#p-assistance-routes-0 >> text=保存名称")
    page.wait_for_load_state()
    route = "#p-assistance-routes-0"
    saved(page, lambda: page.check(f"{route}-categories label:has-text('特困人员') input"))
    saved(page, lambda: page.check(f"{route}-categories label:has-text('低保对象') input"))
    saved(page, lambda: page.check(f"{route}-kinds label:has-text('住院') input"))
    # the deductible: only the inputs of the kind chosen are shown; the framework forbids one here
    deductible = f"{route}-deductible"
    assert not page.locator(f"{deductible} input[name=amount]").is_visible()
    saved(page, lambda: page.select_option(f"{deductible} select[name=mode]", label="金额"))
    assert page.locator(f"{deductible} input[name=amount]").is_visible()
    assert not page.locator(f"{deductible} input[name=level1]").is_visible()
    assert page.locator(f"{deductible} select[name=basis]").is_visible()   # counted over the year or per claim
    saved(page, lambda: (page.fill(f"{deductible} input[name=amount]", "500"), page.press(f"{deductible} input[name=amount]", "Tab")))
    refusal = page.inner_text(f"{deductible} .errorlist")
    assert "粤府办〔2022〕40号 二(四)" in refusal and "救助起付标准" in refusal, refusal
    saved(page, lambda: page.select_option(f"{deductible} select[name=mode]", label="不设"))
    assert not page.locator(f"{deductible} input[name=amount]").is_visible()
    assert not page.locator(f"{deductible} select[name=basis]").is_visible()
    page.select_option(f"{route} .ed-addable select", label="救助比例")
    page.click(f"{route} .ed-addable button")
    page.wait_for_selector(f"{route}-ratio")
    saved(page, lambda: (page.fill(f"{route}-ratio input[name=clause]", "第三条"), page.press(f"{route}-ratio input[name=clause]", "Tab")))
    saved(page, lambda: (page.fill(f"{route}-ratio input[name=text]", "70%"), page.press(f"{route}-ratio input[name=text]", "Tab")))
    # the cap pool: this route's own, chosen in words
    saved(page, lambda: page.select_option(f"{route}-pool select[name=selected]", label="本项单独计算"))
    # an adjustment: 5 points more at level-1 hospitals, a row of choices
    page.select_option(f"{route} .ed-addable select", label="救助比例调整（按医院等级或就医地）")
    page.click(f"{route} .ed-addable button")
    adjust = f"{route}-ratio-adjustments"
    page.wait_for_selector(adjust)
    saved(page, lambda: page.select_option(f"{adjust} select[name=adj_where]", label="在一级医疗机构就医"))
    assert "请填写每项调整的百分点数" in page.inner_text(f"{adjust} .errorlist")   # the place chosen is kept
    saved(page, lambda: (page.fill(f"{adjust} input[name=adj_points] >> nth=0", "5"), page.press(f"{adjust} input[name=adj_points] >> nth=0", "Tab")))
    assert "一级" in page.inner_text(f"{adjust} .ed-value") and "5" in page.inner_text(f"{adjust} .ed-value")
    saved(page, lambda: page.select_option(f"{route}-cap select[name=mode]", label="金额"))
    assert "请填写金额" in page.inner_text(f"{route}-cap")  # the choice is kept while the amount is missing
    saved(page, lambda: (page.fill(f"{route}-cap input[name=amount]", "30000"), page.press(f"{route}-cap input[name=amount]", "Tab")))
    # a ratio above 100 % is refused next to it, naming it, and nothing else changes
    saved(page, lambda: (page.fill(f"{route}-ratio input[name=text]", "120%"), page.press(f"{route}-ratio input[name=text]", "Tab")))
    assert "救助比例" in page.inner_text(f"{route}-ratio .errorlist")
    shots(page, "route-entered")
    draft.refresh_from_db()
    entered = draft.document["parameters"]["assistance"]["routes"][0]
    assert entered["ratio"] == {"value": "0.70", "clause": "第三条"}
    assert entered["categories"]["value"] == ["tekun", "dibao"] and entered["cap"]["value"] == "30000.00"
    assert entered["deductible"]["value"] == "none" and entered["ratio_adjustments"]["value"] == [{"hospital_level": 1, "add": "0.05"}]
    assert draft.document["parameters"]["categories"]["precedence"]["value"] == ["tekun", "orphan", "dibao"]
    # the city's own document put on file: each number's clause is shown with its words
    page.fill("#document-text textarea[name=text]", "测试市医疗救助办法\n第一条 为保障困难群众基本医疗权益，制定本办法。\n"
              "第三条 特困人员、低保对象住院费用按70%的比例救助，在一级医院就医的提高5个百分点。\n")
    page.click("#document-text button[type=submit]")
    page.wait_for_selector(f"{route}-ratio .clause-text")
    assert "按70%的比例救助" in page.inner_text(f"{route}-ratio .clause-text")
    shown = page.inner_text(".editor")   # the visible words, choices included
    for code in CODES:
        assert code not in shown, code
    assert not english_words(shown), english_words(shown)
    assert "70%" in shown and "30,000.00 元" in shown and "不设" in shown

    page.fill(".publish-form #id_in_force_from", "2024-01-01")
    page.fill(".publish-form #id_confirm_document", "测试市医保规〔2024〕1号")
    page.click("text=发布此版本")
    page.wait_for_load_state()
    shots(page, "published")
    draft.refresh_from_db()
    assert draft.status == "published", page.inner_text("main")[:2000]

    payload = {
        "region": "449800",
        "person": {"residence": "rural", "scheme": "resident",
                   "identities": [{"category": "dibao", "start": "2023-01-01", "end": None}]},
        "claims": [{"id": "a", "date": "2024-03-01", "kind": "inpatient", "hospital_level": 1, "location": "county",
                    "referral_compliant": True, "total": "12000.00", "policy_scope": "10000.00",
                    "basic_paid": "6000.00", "critical_paid": "0.00"}],
    }
    page.goto("/policies/whatif/")
    page.click("text=导入：粘贴结算输入")
    page.fill("textarea[name=pasted]", json.dumps(payload, ensure_ascii=False))
    page.click("button:has-text('据此填写各行')")
    page.wait_for_load_state()
    page.click("button:has-text('测算')")
    page.wait_for_selector("text=合计")
    shots(page, "settled")
    assert "3,000.00" in page.inner_text("main")  # 70 % + 5 points at a level-1 hospital of the 4 000 left after basic insurance
