"""The simulation from the command line and over the API (issue 12 item 1)."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from policies.models import PolicySimulation, SimulationStatus
from tests.policies.simulation_support import YEAR, expected_totals, make_region


@pytest.mark.django_db
def test_the_command_prints_the_report(gz_admin, ganzhou):
    draft, _team = make_region(gz_admin, ganzhou)
    out = io.StringIO()
    call_command("simulate_policy", str(draft.pk), "--year", str(YEAR), "--chunk-size", "2", stdout=out)
    report = json.loads(out.getvalue())
    expected = expected_totals(draft)
    for side in ("before", "after"):
        assert Decimal(report["totals"]["assistance"][side]) == expected["sums"][side]["assistance"]
    assert report["person_years"] == expected["person_years"]
    sim = PolicySimulation.objects.get()
    assert sim.created_by is None and sim.chunks_total == 5
    # the report as stored, each refusal worded (in Chinese, the command's language) beside its problem
    assert report["refused"] and all(r["reason"] and "critical.deductible" not in r["reason"] for r in report["refused"])
    assert {**report, "refused": [{k: v for k, v in r.items() if k != "reason"} for r in report["refused"]]} == sim.report


@pytest.mark.django_db
def test_the_command_refuses_with_the_reason(gz_admin, ganzhou, capsys):
    for args in (["999999", "--year", "2023"], [str(ganzhou.pk), "--year", "2023"]):
        with pytest.raises(SystemExit) as exit_:
            call_command("simulate_policy", *args)
        assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "999999" in err and "只能测算草稿" in err


@pytest.mark.django_db
def test_the_api_starts_and_reports(gz_admin, ganzhou, cz_admin, django_capture_on_commit_callbacks):
    draft, _team = make_region(gz_admin, ganzhou)
    api = APIClient()
    api.force_authenticate(cz_admin)
    url = f"/api/v1/policy-versions/{draft.pk}/simulations/"
    assert api.post(url, {"year": YEAR}, format="json").status_code in (403, 404)
    api.force_authenticate(gz_admin)
    response = api.post(url, {"year": "abc"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "year"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"year": YEAR}, format="json")
    assert response.status_code == 202, response.content
    sim_id = response.json()["id"]
    body = api.get(f"/api/v1/policy-simulations/{sim_id}/").json()
    assert body["status"] == SimulationStatus.DONE and body["progress"] == 100
    expected = expected_totals(draft)
    assert Decimal(body["report"]["totals"]["assistance"]["after"]) == expected["sums"]["after"]["assistance"]
    assert [s["id"] for s in api.get(url).json()] == [sim_id]
    api.force_authenticate(cz_admin)
    response = api.get(f"/api/v1/policy-simulations/{sim_id}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
