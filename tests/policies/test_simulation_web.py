"""The simulation page of a draft: run it, see the report (totals, chart, the largest changes
linked to their cases), download it as Excel; other regions' admins and auditors cannot."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from policies.models import PolicySimulation, SimulationStatus
from tests.policies.simulation_support import YEAR, make_region
from tests.web import page, post


@pytest.mark.django_db
def test_run_see_the_delta_and_download(client, gz_admin, ganzhou, django_capture_on_commit_callbacks):
    draft, _team = make_region(gz_admin, ganzhou)
    response, body = page(client, gz_admin, reverse("policies:version", args=[draft.pk]))
    assert reverse("policies:version-simulation", args=[draft.pk]) in body
    url = reverse("policies:version-simulation", args=[draft.pk])
    response, body = page(client, gz_admin, url)
    assert response.status_code == 200 and 'id="run-simulation"' in body
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = post(client, gz_admin, url, {"year": YEAR})
    assert response.status_code == 302
    sim = PolicySimulation.objects.get(version=draft)
    assert sim.status == SimulationStatus.DONE and sim.created_by == gz_admin
    response, body = page(client, gz_admin, url)
    report = sim.report
    assert report["totals"]["paid"]["change"] in body and report["totals"]["paid"]["after"] in body
    assert "<svg" in body and "低保对象" in body
    for row in report["largest"]:
        assert reverse("cases:case", args=[row["case_id"]]) in body
    assert "hx-trigger" not in body            # finished: no more polling
    status = client.get(reverse("policies:simulation-status", args=[sim.pk]))
    assert status.status_code == 200 and report["totals"]["paid"]["change"] in status.content.decode()

    xlsx = client.get(reverse("policies:simulation-excel", args=[sim.pk]))
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    paid = next(r for r in rows if r[0] == "基金支付（救助 + 倾斜救助）")
    assert [Decimal(str(v)) for v in paid[1:4]] == [Decimal(report["totals"]["paid"][k]) for k in ("before", "after", "change")]
    assert any(r[0] == report["largest"][0]["case_number"] for r in rows)


@pytest.mark.django_db
def test_a_running_simulation_polls_its_progress(client, gz_admin, ganzhou):
    from policies.simulation import start_simulation

    draft, _team = make_region(gz_admin, ganzhou)
    sim = start_simulation(acting_user=gz_admin, version=draft, year=YEAR, chunk_size=3, in_process=True)
    from policies.simulation import run_part

    run_part(simulation_id=sim.pk, index=0)
    _, body = page(client, gz_admin, reverse("policies:version-simulation", args=[draft.pk]))
    assert 'hx-trigger="every 2s"' in body and 'value="25"' in body and "1 / 4" not in body
    assert "4 个部分中已完成 1 个" in body


@pytest.mark.django_db
def test_other_regions_and_auditors_cannot(client, gz_admin, ganzhou, cz_admin, gz_auditor):
    from policies.simulation import run_all, start_simulation

    draft, _team = make_region(gz_admin, ganzhou)
    sim = run_all(start_simulation(acting_user=gz_admin, version=draft, year=YEAR, in_process=True))
    url = reverse("policies:version-simulation", args=[draft.pk])
    for user in (cz_admin, gz_auditor):
        response, _ = page(client, user, url)
        assert response.status_code in (403, 404)
        response, _ = post(client, user, url, {"year": YEAR})
        assert response.status_code in (403, 404)
        assert client.get(reverse("policies:simulation-status", args=[sim.pk])).status_code == 404
        assert client.get(reverse("policies:simulation-excel", args=[sim.pk])).status_code == 404
    assert PolicySimulation.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_year_is_named(client, gz_admin, ganzhou):
    from policies import services

    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    response, body = post(client, gz_admin, reverse("policies:version-simulation", args=[draft.pk]), {"year": "abc"})
    assert response.status_code == 200 and "errorlist" in body
    assert not PolicySimulation.objects.exists()


@pytest.mark.django_db
def test_the_publish_summary(gz_admin, ganzhou):
    import datetime

    from django.template.loader import render_to_string

    from policies import selectors
    from policies.simulation import publish_context, run_all, start_simulation

    draft, _team = make_region(gz_admin, ganzhou)
    from cases.models import Application

    context = publish_context(draft, since=datetime.date(YEAR, 1, 1))
    n = Application.objects.filter(region__code__startswith="3607", year=YEAR).values("person_id").distinct().count()
    assert context["simulation"] is None and context["retroactive_person_years"] == n >= 10
    body = render_to_string("policies/_simulation_summary.html", context)
    assert reverse("policies:version-simulation", args=[draft.pk]) in body and "运行测算" in body
    assert f"发布后将重新计算 {n} 个人员年度" in body
    sim = run_all(start_simulation(acting_user=gz_admin, version=draft, year=YEAR, in_process=True))
    assert selectors.latest_simulation(draft) == sim
    body = render_to_string("policies/_simulation_summary.html", {"version": draft, "simulation": sim})
    assert sim.report["totals"]["paid"]["change"] in body and "发布后将重新计算" not in body
