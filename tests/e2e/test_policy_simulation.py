"""A policy administrator changes a number on a draft, runs the fund-impact simulation over the
region's cases from the draft's page, sees the delta, and publishes the draft with the simulation
summary in front of them, typing the document number; and edits a worked example of a draft from
its page, the change marked and recorded in the version's history (issue 12)."""
from decimal import Decimal

import pytest

from policies import services
from policies.models import PolicySimulation, PolicyVersion, SimulationStatus
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user
from tests.policies.simulation_support import YEAR, make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_change_a_number_run_the_simulation_see_the_delta(new_page, shots):
    admin = make_user("policy_admin", region="360700", username="gz_sim_e2e")
    published = PolicyVersion.objects.get(region_id="360700", status="published")
    draft, _team = make_region(admin, published)      # the draft raises the 低保 inpatient ratio to 90 %
    routes = draft.document["parameters"]["assistance"]["routes"]
    dibao = next(i for i, r in enumerate(routes) if "dibao" in (r["categories"]["value"] or [])
                 and "inpatient" in (r["kinds"]["value"] or []))

    page = new_page()
    login(page, "gz_sim_e2e", PASSWORD)
    page.goto(f"/policies/versions/{draft.pk}/")
    page.wait_for_function("() => window.htmx && document.readyState === 'complete'")
    field = f"#p-assistance-routes-{dibao}-ratio input[name=text]"
    with page.expect_response(lambda r: "/leaf/" in r.url):
        page.fill(field, "95%")
        page.press(field, "Tab")
    page.wait_for_selector(f"#p-assistance-routes-{dibao}-ratio .badge-ok")
    shots(page, "ratio-changed")

    page.click("#simulate-link")
    page.select_option("#id_year", str(YEAR))
    shots(page, "simulation-page")
    page.click("#run-simulation")
    page.wait_for_selector("#simulation-report", timeout=60000)
    shots(page, "report")

    sim = PolicySimulation.objects.get(version=draft)
    assert sim.status == SimulationStatus.DONE
    assert sim.document["parameters"]["assistance"]["routes"][dibao]["ratio"]["value"] in ("0.95", "0.950")
    change = sim.report["totals"]["paid"]["change"]
    assert Decimal(change) > 0
    totals = page.inner_text("#simulation-totals")
    assert change in totals and sim.report["totals"]["paid"]["after"] in totals
    first = sim.report["largest"][0]
    page.click(f"#simulation-largest >> text={first['case_number']}")
    page.wait_for_url(f"**/cases/{first['case_id']}/")

    # The publish form shows the simulation's summary; publishing wants the document number typed.
    page.goto(f"/policies/versions/{draft.pk}/")
    assert change in page.inner_text("#simulation-summary")
    page.fill(".publish-form #id_in_force_from", "2024-01-01")
    page.fill(".publish-form #id_confirm_document", draft.document_number)
    shots(page, "publish-form")
    page.click("text=发布此版本")
    page.wait_for_load_state()
    shots(page, "published")
    draft.refresh_from_db()
    assert draft.status == "published" and draft.published_simulation_id == sim.pk


def test_edit_a_worked_example_of_a_draft(new_page, shots):
    admin = make_user("policy_admin", region="360700", username="gz_example_e2e")
    published = PolicyVersion.objects.get(region_id="360700", status="published")
    draft = services.start_version(acting_user=admin, from_version=published)   # copies the examples
    example = draft.examples.get(name="ganzhou_class2_annual_cap")
    assert example.expected["claims"][0]["assistance"] == "22500.00"

    page = new_page()
    login(page, "gz_example_e2e", PASSWORD)
    page.goto(f"/policies/versions/{draft.pk}/")
    page.click("#example-list >> text=ganzhou_class2_annual_cap")
    page.wait_for_url(f"**/policies/versions/{draft.pk}/examples/{example.pk}/")
    assert "算例通过" in page.inner_text("#example-check")
    field = "#example-form input[name='claim-0-exp_assistance']"
    assert page.input_value(field) == "22500.00"
    shots(page, "example")

    # The expectation moved on purpose: saved, and the page marks what the version gives instead.
    page.fill(field, "22600.00")
    page.click("#example-form button[name=save]")
    page.wait_for_load_state()
    shots(page, "example-changed")
    check = page.inner_text("#example-check")
    assert "算例未通过" in check and "预期 22600.00" in check
    assert page.input_value(field) == "22600.00"
    example.refresh_from_db()
    assert example.expected["claims"][0]["assistance"] == "22600.00"

    # The version's history records the change, old → new.
    page.goto(f"/policies/versions/{draft.pk}/#history")
    history = page.inner_text("#history + table")
    assert "修改算例" in history and "22500.00 → 22600.00" in history
    shots(page, "history")

    # Put back, the example passes again.
    page.goto(f"/policies/versions/{draft.pk}/examples/{example.pk}/")
    page.fill(field, "22500.00")
    page.click("#example-form button[name=save]")
    page.wait_for_load_state()
    assert "算例通过" in page.inner_text("#example-check")
    example.refresh_from_db()
    assert example.expected["claims"][0]["assistance"] == "22500.00"
