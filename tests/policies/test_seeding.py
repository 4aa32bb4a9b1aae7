"""The five regions' documents are seeded exactly; seeding again adds nothing; the demo's statistics
are labelled as demo data."""
import json

import pytest

from policies import demo
from policies.models import ChangeAction, PolicyChange, PolicyVersion, Statistic, VersionStatus
from policies.seeding import load_seeds, seed_documents
from portal.demo import seed_accounts

from .test_examples import run_settle

pytestmark = pytest.mark.django_db


def test_every_seed_document_is_a_published_version_exactly():
    docs = seed_documents()
    assert {doc["region"] for _, doc in docs} == {"360700", "130900", "440000", "500113", "341721"}
    for filename, doc in docs:
        version = PolicyVersion.objects.get(region_id=doc["region"], document_number=doc["document"])
        assert version.status == VersionStatus.PUBLISHED
        assert version.document == doc  # values as written, unset (null) stays null
        assert version.engine_document()["parameters"] == doc["parameters"]
        assert version.framework == doc["framework"] and version.in_force_from.isoformat() == doc["in_force_from"]
        seeded = version.changes.get()
        assert seeded.action == ChangeAction.SEEDED and filename in seeded.note
    assert PolicyVersion.objects.get(region_id="440000").framework is True
    assert not Statistic.objects.exists()  # the documents give no statistics; none are invented


def test_seeding_again_adds_nothing():
    before = (PolicyVersion.objects.count(), PolicyChange.objects.count())
    assert load_seeds(PolicyVersion, PolicyChange) == (0, 0)
    assert load_seeds(PolicyVersion, PolicyChange, reload_unchanged=True) == (0, 0)
    assert (PolicyVersion.objects.count(), PolicyChange.objects.count()) == before


def test_a_seeded_version_someone_built_on_is_never_reloaded(gz_admin, ganzhou):
    from policies import services

    services.start_version(acting_user=gz_admin, from_version=ganzhou)
    ganzhou.document = {**ganzhou.document, "title": "changed locally"}
    ganzhou.save()
    assert load_seeds(PolicyVersion, PolicyChange, reload_unchanged=True) == (0, 0)
    ganzhou.refresh_from_db()
    assert ganzhou.document["title"] == "changed locally"


def test_demo_statistics_are_labelled_and_make_the_what_if_work():
    seed_accounts()
    demo.seed()
    demo.seed()  # idempotent
    stats = Statistic.objects.all()
    assert {s.region_id for s in stats} == {"360700", "130900"}
    assert all("演示数据" in s.source for s in stats)
    # the statistics, and 沧州's 2023 announced deductibles (demo amounts, labelled as such) — once each
    assert stats.count() == len(demo.DEMO_STATISTICS) + len(demo.DEMO_ANNOUNCED)
    code, out, err = run_settle("-", stdin=json.dumps(demo.example_payload("360702")))
    assert code == 0, err
    assert json.loads(out)["claims"][0]["category"] == "dibao"


def test_settle_uses_the_stored_statistic_and_names_a_missing_one(gz_admin):
    from policies import services
    from portal.regions.models import Region

    payload = demo.example_payload("360700")
    payload["person"]["identities"][0]["category"] = "jiance"  # class 3: deductible 10 % × I_city
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert code == 2 and out == ""
    assert "城乡居民人均可支配收入" in err and "赣州市" in err and "2022" in err and "政策管理员" in err   # Chinese by default
    assert "360700" not in err      # the region by its name
    services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"), kind="city_income",
                           year=2022, value="32000.00", source="赣州市统计公报")
    services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"),
                           kind="province_rural_income", year=2022, value="19000.00", source="江西省统计公报")
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert code == 0, err
    claim = json.loads(out)["claims"][0]
    # class 3 inpatient: (15 000 − 10 % × 32 000) × 65 % = 7 670
    assert (claim["self_pay_in_scope"], claim["assistance"]) == ("15000.00", "7670.00")
