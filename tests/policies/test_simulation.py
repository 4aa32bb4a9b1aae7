"""The region-wide simulation of a draft (issue 12 items 1–2): its totals are the sum of the
per-person settlements, the split into parts does not change the report, it writes nothing to
cases, and only the region's policy admins may run it."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from cases.models import Adjustment, Application, Claim, ClaimAllocation, Settlement, SettlementLine
from policies import services
from policies.messages import path_label
from policies.models import PolicySimulation, SimulationStatus
from policies.simulation import latest_simulation, retroactive_person_years, run_all, start_simulation, worded_report
from portal.errors import Invalid, NotPermitted
from tests.factories import make_user
from tests.policies.simulation_support import YEAR, expected_totals, make_region


def simulate(user, draft, chunk_size=None, capture=None):
    if capture is None:
        return run_all(start_simulation(acting_user=user, version=draft, year=YEAR, chunk_size=chunk_size,
                                        in_process=True))
    with capture(execute=True):
        sim = start_simulation(acting_user=user, version=draft, year=YEAR, chunk_size=chunk_size)
    sim.refresh_from_db()
    return sim


def check_totals(report, expected):
    for side in ("before", "after"):
        for key, value in expected["sums"][side].items():
            assert Decimal(report["totals"][key][side]) == value, (side, key)
    assert report["person_years"] == expected["person_years"]
    assert report["refused_person_years"] == expected["refused"]
    assert report["people"] == expected["people"]


def _run_and_compare(gz_admin, ganzhou, capture):
    draft, _team = make_region(gz_admin, ganzhou)
    sim = simulate(gz_admin, draft, capture=capture)
    assert sim.status == SimulationStatus.DONE and sim.progress == 100
    report = sim.report
    expected = expected_totals(draft)
    check_totals(report, expected)
    # the draft raises the 低保 ratio: the fund pays more, and somebody's amount went up
    assert Decimal(report["totals"]["assistance"]["after"]) > Decimal(report["totals"]["assistance"]["before"])
    assert report["people"]["up"] >= 1
    assert report["regions"] == ["360702", "360703", "360731"]
    return sim, draft


@pytest.mark.django_db
def test_totals_are_the_sum_of_per_person_settlements(gz_admin, ganzhou, django_capture_on_commit_callbacks):
    sim, draft = _run_and_compare(gz_admin, ganzhou, django_capture_on_commit_callbacks)
    report = sim.report
    # the refused person-year is listed with its reason and case, not dropped
    assert report["refused_person_years"] == sum(r["count"] for r in report["refused"]) >= 1
    assert all(len(r["cases"]) == r["count"] for r in report["refused"])
    # the reason names the parameter in Chinese words (大病保险 的 起付标准), never its path
    unset = path_label("critical.deductible")
    worded = worded_report(report)["refused"]
    assert any(r["side"] == "both" and unset in r["reason"] and "critical.deductible" not in r["reason"]
               for r in worded), worded
    # the report stores the problem (code, params), not the wording of the run's language
    assert all("reason" not in r and r["problem"]["code"] == r["code"] for r in report["refused"])
    with translation.override("en"):
        english = worded_report(report)["refused"]
    assert any("critical.deductible" in r["reason"] for r in english), english
    # the largest changes are person-years whose amount changed, each with its case
    assert report["largest"] and all(Decimal(r["change"]) != 0 for r in report["largest"])
    assert all(Application.objects.filter(pk=r["case_id"], person_id=r["person_id"]).exists()
               for r in report["largest"])
    changes = [abs(Decimal(r["change"])) for r in report["largest"]]
    assert changes == sorted(changes, reverse=True)
    # by category: only 低保's assistance changes
    moved = {r["code"] for r in report["by_category"] if Decimal(r["change"]) != 0}
    assert moved == {"dibao"}
    kinds = {r["code"] for r in report["by_kind"]}
    assert kinds <= {"inpatient", "outpatient_chronic", "outpatient_general"} and "inpatient" in kinds
    assert latest_simulation(draft) == sim and sim.is_current
    # editing the draft makes the report out of date
    services.set_parameter(acting_user=gz_admin, version=draft, path="assistance.routes[0].ratio", value="0.50")
    assert not latest_simulation(draft).is_current


@pytest.mark.django_db
def test_parts_of_any_size_give_the_same_report(gz_admin, ganzhou):
    draft, _team = make_region(gz_admin, ganzhou)
    reports = []
    for size in (1, 3, 1000):
        sim = simulate(gz_admin, draft, chunk_size=size)
        assert sim.status == SimulationStatus.DONE
        reports.append((sim.chunks_total, sim.report))
    assert [n for n, _ in reports] == [10, 4, 1]
    assert reports[0][1] == reports[1][1] == reports[2][1]


def _counts():
    return {m.__name__: m.objects.count() for m in (Application, Claim, Settlement, SettlementLine, Adjustment,
                                                   ClaimAllocation)}


@pytest.mark.django_db
def test_writes_nothing_to_cases(gz_admin, ganzhou):
    draft, _team = make_region(gz_admin, ganzhou)
    before = _counts()
    apps = list(Application.objects.order_by("id").values_list("id", "state", "calc_revision", "updated_at"))
    settlements = list(Settlement.objects.order_by("id").values_list("id", "status", "revision", "settlement_hash"))
    assert before["Settlement"] > 0
    sim = simulate(gz_admin, draft, chunk_size=2)
    assert sim.status == SimulationStatus.DONE
    assert _counts() == before
    assert list(Application.objects.order_by("id").values_list("id", "state", "calc_revision", "updated_at")) == apps
    assert list(Settlement.objects.order_by("id").values_list("id", "status", "revision", "settlement_hash")) == settlements


@pytest.mark.django_db
def test_a_part_run_twice_changes_nothing(gz_admin, ganzhou):
    from policies.simulation import run_part

    draft, _team = make_region(gz_admin, ganzhou)
    sim = simulate(gz_admin, draft, chunk_size=4)
    report = sim.report
    run_part(simulation_id=sim.pk, index=0)
    sim.refresh_from_db()
    assert sim.report == report and sim.chunks_done == sim.chunks_total


@pytest.mark.django_db
def test_only_the_regions_policy_admins(gz_admin, ganzhou, cz_admin, gz_auditor):
    draft, team = make_region(gz_admin, ganzhou)
    for user in (cz_admin, gz_auditor, team.caseworker, make_user("policy_admin", region="360702", username="county_pa")):
        with pytest.raises(NotPermitted):
            start_simulation(acting_user=user, version=draft, year=YEAR)
    assert not PolicySimulation.objects.exists()
    root = make_user("caseworker", region="360700", username="root_sim")
    root.is_superuser = True
    root.save()
    assert simulate(root, draft).status == SimulationStatus.DONE


@pytest.mark.django_db
def test_refusals_name_the_field(gz_admin, ganzhou):
    with pytest.raises(Invalid) as err:
        start_simulation(acting_user=gz_admin, version=ganzhou, year=YEAR)
    assert err.value.field == "version"
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    for year in ("abc", 1999, 2999):
        with pytest.raises(Invalid) as err:
            start_simulation(acting_user=gz_admin, version=draft, year=year)
        assert err.value.field == "year"


@pytest.mark.django_db
def test_retroactive_person_years(gz_admin, ganzhou):
    import datetime

    draft, _team = make_region(gz_admin, ganzhou)
    live = Application.objects.filter(year=YEAR, region__code__startswith="3607").values("person_id").distinct().count()
    assert retroactive_person_years(draft, since=datetime.date(YEAR, 1, 1)) == live
    assert retroactive_person_years(draft, since=datetime.date(YEAR + 1, 1, 1)) == 0
    # only claims on or after the date count: the 12-01 claim and the 11-20 chronic ones
    late = Claim.objects.filter(date__gte=datetime.date(YEAR, 11, 1), person__applications__region__code__startswith="3607")
    assert retroactive_person_years(draft, since=datetime.date(YEAR, 11, 1)) == late.values("person_id").distinct().count()


@pytest.mark.postgres
@pytest.mark.django_db
def test_totals_on_postgresql(gz_admin, ganzhou, django_capture_on_commit_callbacks):
    assert connection.vendor == "postgresql"
    _run_and_compare(gz_admin, ganzhou, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_a_report_stored_with_sentences_is_migrated_to_problems(gz_admin, ganzhou):
    """Migration 0010: a report stored before kept each refusal's sentence in the run's language;
    its refusals are rebuilt as problems from the simulation's parts, and a report whose parts
    are gone keeps the recorded sentence (Chinese shown as recorded, English asks to run again)."""
    import importlib

    from django.apps import apps as global_apps

    from policies.models import SimulationChunk

    migration = importlib.import_module("policies.migrations.0010_simulation_refusals_as_problems")
    draft, _team = make_region(gz_admin, ganzhou)
    sim = run_all(start_simulation(acting_user=gz_admin, version=draft, year=YEAR, in_process=True))
    new = sim.report
    old = {**new, "refused": [{k: v for k, v in r.items() if k != "problem"} | {"reason": "English sentence"}
                              for r in new["refused"]]}
    PolicySimulation.objects.filter(pk=sim.pk).update(report=old)
    migration.forwards(global_apps, None)
    sim.refresh_from_db()
    assert sim.report["refused"] == new["refused"]

    PolicySimulation.objects.filter(pk=sim.pk).update(report={**old, "refused": [
        {**old["refused"][0], "reason": "第 1 笔费用：未设定"}]})
    SimulationChunk.objects.filter(simulation=sim).delete()
    migration.forwards(global_apps, None)
    sim.refresh_from_db()
    [row] = sim.report["refused"]
    assert row["problem"]["code"] == "case.legacy_refusal"
    assert worded_report(sim.report)["refused"][0]["reason"] == "第 1 笔费用：未设定"
