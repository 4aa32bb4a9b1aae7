"""The simulation on PostgreSQL and Redis (issue 12 items 1–2): from the API and from the draft's
page, its parts go through the outbox to Redis and a real Celery worker runs them while the page
polls its progress; the command on PostgreSQL. Each time the totals are the per-person engine sums
(tests/policies/simulation_support.py). CI runs these on PostgreSQL + Redis (.ci/run); without those
services they are skipped."""
from __future__ import annotations

import io
import json
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from policies.models import PolicySimulation, SimulationStatus
from policies.simulation import worded_report
from tests.policies.simulation_support import YEAR, expected_totals, make_region
from tests.web import page, post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _finished(sim_id: int, worker, seconds: float = 180) -> PolicySimulation:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sim = PolicySimulation.objects.get(pk=sim_id)
        if sim.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
            return sim
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
    from portal.models import OutboxJob

    jobs = list(OutboxJob.objects.values_list("task", "sent_at", "last_error"))
    pytest.fail(f"the worker did not finish the simulation within {seconds} s: {sim.status}, "
                f"{sim.chunks_done}/{sim.chunks_total} parts; jobs {jobs}")


def _check(report: dict, expected: dict) -> None:
    for side in ("before", "after"):
        for key, value in expected["sums"][side].items():
            assert Decimal(report["totals"][key][side]) == value, (side, key)
    assert report["person_years"] == expected["person_years"]
    assert report["refused_person_years"] == expected["refused"]
    assert report["people"] == expected["people"]


@pytest.mark.celery_worker
def test_the_api_starts_it_and_a_real_worker_runs_its_parts(gz_admin, ganzhou, worker, settings):
    assert connection.vendor == "postgresql"
    settings.POLICY_SIMULATION_CHUNK = 3           # several parts for the worker
    draft, _team = make_region(gz_admin, ganzhou)
    api = APIClient()
    api.force_authenticate(gz_admin)
    response = api.post(f"/api/v1/policy-versions/{draft.pk}/simulations/", {"year": YEAR}, format="json")
    assert response.status_code == 202, response.content
    sim_id = response.json()["id"]
    sim = _finished(sim_id, worker)
    assert sim.status == SimulationStatus.DONE, sim.error
    assert sim.chunks_total == sim.chunks_done == 4
    body = api.get(f"/api/v1/policy-simulations/{sim_id}/").json()
    assert body["status"] == SimulationStatus.DONE and body["progress"] == 100
    _check(body["report"], expected_totals(draft))


@pytest.mark.celery_worker
def test_the_page_starts_it_a_real_worker_runs_it_and_the_page_shows_the_delta(client, gz_admin, ganzhou, worker,
                                                                               settings):
    settings.POLICY_SIMULATION_CHUNK = 4
    draft, _team = make_region(gz_admin, ganzhou)
    url = reverse("policies:version-simulation", args=[draft.pk])
    response, _ = post(client, gz_admin, url, {"year": YEAR})
    assert response.status_code == 302
    sim = PolicySimulation.objects.get(version=draft)
    assert sim.created_by == gz_admin and sim.chunks_total == 3
    status_url = reverse("policies:simulation-status", args=[sim.pk])
    sim = _finished(sim.pk, worker)
    assert sim.status == SimulationStatus.DONE, sim.error
    polled = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    report = sim.report
    assert 'hx-trigger="every 2s"' not in polled                 # finished: the polling stops
    assert report["totals"]["paid"]["change"] in polled and report["totals"]["paid"]["after"] in polled
    _, body = page(client, gz_admin, url)
    for row in report["largest"]:
        assert reverse("cases:case", args=[row["case_id"]]) in body
    _check(report, expected_totals(draft))


def test_the_command_on_postgresql(gz_admin, ganzhou):
    assert connection.vendor == "postgresql"
    draft, _team = make_region(gz_admin, ganzhou)
    out = io.StringIO()
    call_command("simulate_policy", str(draft.pk), "--year", str(YEAR), "--chunk-size", "2", stdout=out)
    report = json.loads(out.getvalue())
    # the stored report keeps problems; the command prints them worded (each refusal's reason)
    assert worded_report(PolicySimulation.objects.get().report) == report
    assert all(row["reason"] and "policy." not in row["reason"] for row in report["refused"])
    _check(report, expected_totals(draft))
