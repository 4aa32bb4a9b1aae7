"""A policy administrator starts a new version, changes a ratio, publishes it and runs a what-if."""
import json
from decimal import Decimal

import pytest
from django.conf import settings

from policies.models import PolicyVersion
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def route_index(version, category: str, kind: str = "inpatient") -> int:
    for i, route in enumerate(version.document["parameters"]["assistance"]["routes"]):
        if category in (route["categories"]["value"] or []) and kind in (route["kinds"]["value"] or []):
            return i
    raise LookupError(category)


def test_policy_admin_publishes_a_new_version_and_sees_it_in_the_what_if(new_page, shots):
    make_user("policy_admin", region="360700", username="gz_policy_e2e")
    current = PolicyVersion.objects.get(region_id="360700", status="published")
    page = new_page()
    login(page, "gz_policy_e2e", PASSWORD)
    assert "政策版本" in page.inner_text("nav")

    page.goto(f"/policies/versions/{current.pk}/")
    shots(page, "current-version")
    page.click("text=以此版本为基础新建版本")
    page.wait_for_selector(".editor")
    page.wait_for_function("() => window.htmx && document.readyState === 'complete'")  # each change is sent by htmx
    draft = PolicyVersion.objects.get(region_id="360700", status="draft")
    assert page.url.endswith(f"/policies/versions/{draft.pk}/")
    dibao = route_index(draft, "dibao")

    # Class 2 (dibao, fanpin) inpatient assistance: 75 % → 80 %, saved as soon as it is changed.
    field = f"#p-assistance-routes-{dibao}-ratio input[name=text]"
    with page.expect_response(lambda r: "/leaf/" in r.url):
        page.fill(field, "80%")
        page.press(field, "Tab")
    page.wait_for_selector(f"#p-assistance-routes-{dibao}-ratio .badge-ok")
    shots(page, "ratio-changed")
    draft.refresh_from_db()
    assert draft.document["parameters"]["assistance"]["routes"][dibao]["ratio"]["value"] in ("0.80", "0.8")

    # A bad value is refused next to the parameter, naming the reason; the saved value stays.
    page.wait_for_function("() => window.htmx && document.readyState === 'complete'")
    with page.expect_response(lambda r: "/leaf/" in r.url):
        page.fill(field, "abc")
        page.press(field, "Tab")
    page.wait_for_selector(f"#p-assistance-routes-{dibao}-ratio .errorlist")
    shots(page, "bad-value-refused")
    draft.refresh_from_db()
    assert draft.document["parameters"]["assistance"]["routes"][dibao]["ratio"]["value"] in ("0.80", "0.8")

    # Published from 2023-01-01 it would move the public worked example of 2023: refused, naming it.
    # The form starts empty, says what the two dates mean, and wants the document number typed.
    assert page.input_value(".publish-form #id_in_force_from") == ""
    assert page.input_value(".publish-form #id_retroactive_from") == ""
    assert "追溯执行日期" in page.inner_text(".publish-form")
    page.fill(".publish-form #id_in_force_from", "2023-01-01")
    page.click("text=发布此版本")
    page.wait_for_load_state()
    assert "文号" in page.inner_text(".publish-form")  # not confirmed: nothing published
    draft.refresh_from_db()
    assert draft.status == "draft"
    page.fill(".publish-form #id_confirm_document", draft.document_number)
    page.click("text=发布此版本")
    page.wait_for_load_state()
    shots(page, "publish-refused-by-examples")
    body = page.inner_text("main")
    assert "本版本的算例不再得出预期结果" in body and "ganzhou_class2_annual_cap" in body
    draft.refresh_from_db()
    assert draft.status == "draft"

    page.fill(".publish-form #id_in_force_from", "2024-01-01")
    page.fill(".publish-form #id_confirm_document", draft.document_number)
    page.click("text=发布此版本")
    page.wait_for_load_state()
    shots(page, "published")
    draft.refresh_from_db()
    assert draft.status == "published"
    assert str(draft.in_force_from) == "2024-01-01"

    # What-if with the new version on the class-2 example moved to 2024 (its 2022 figures given for
    # 2023 too): it now pays 80 % up to the 50 000 cap.
    text = (settings.SHARED_DIR / "spec/examples/ganzhou_class2_annual_cap.input.json").read_text()
    example = json.loads(text.replace('"2023-', '"2024-'))
    for series in example["statistics"].values():
        series["2023"] = series["2022"]
    page.goto("/policies/whatif/")
    page.select_option("select[name=version_a]", str(draft.pk))
    page.click("text=导入：粘贴结算输入")
    page.fill("textarea[name=pasted]", json.dumps(example, ensure_ascii=False))
    page.click("button:has-text('据此填写各行')")
    page.wait_for_load_state()
    assert page.input_value("input[name=claim-0-total]") == "90000.00"  # the rows, filled in words
    page.click("button:has-text('测算')")
    page.wait_for_selector("text=合计")
    shots(page, "what-if-result")
    body = page.inner_text("main")
    assert "24,000.00" in body or "24000.00" in body  # claim a: 30 000 × 80 %
    assert "26,000.00" in body or "26000.00" in body  # claim b: capped at the 50 000 left
    assert Decimal("24000") + Decimal("26000") == Decimal("50000")
