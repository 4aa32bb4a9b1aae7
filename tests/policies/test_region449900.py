"""The fictional 示例市 (449900, shared/spec/examples/region_449900.md), created here under 广东省 and
its policy entered as data — a policy file imported through the policy services and published by
its policy admin, never seeded — settles every region449900_* example exactly through
``manage.py settle`` and the preview API."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from policies import services
from policies.models import PolicyVersion, VersionStatus
from portal.regions.models import Region, RegionLevel
from tests.factories import make_user

from .conftest import EXAMPLES, comparable, example_names, load_example
from .test_examples import run_settle

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "region449900.policy.json"


@pytest.fixture
def shili(db):
    assert not PolicyVersion.objects.filter(region_id="449900").exists(), "449900 must never be seeded"
    Region.objects.create(code="449900", name="示例市", level=RegionLevel.CITY, parent_id="440000")
    admin = make_user("policy_admin", region="449900", username="shili_policy")
    draft = services.import_policy(acting_user=admin, content=FIXTURE.read_bytes(), filename=FIXTURE.name)
    assert draft.status == VersionStatus.DRAFT
    services.publish_version(acting_user=admin, version=draft, confirm_document=draft.document_number, in_force_from=datetime.date(2023, 1, 1))
    return admin


def test_there_are_region449900_examples():
    names = example_names(region449900=True)
    assert len(names) >= 5 and any(load_example(n)[1] is None for n in names)


@pytest.mark.parametrize("name", example_names(region449900=True))
def test_example_through_manage_py_settle(shili, name):
    payload, expected = load_example(name)
    code, out, err = run_settle(str(EXAMPLES / f"{name}.input.json"))
    if expected is None:
        # 第五条(三): "上一年度数据未公布前不予计算" — the 2022 figure is missing and 2021 is not used.
        assert (code, out) == (2, "")
        assert "人均可支配收入" in err and "2022" in err and "第五条(三)" in err and "2021" not in err
        return
    assert code == 0, err
    assert comparable(json.loads(out)) == comparable(expected)


@pytest.mark.parametrize("name", example_names(region449900=True))
def test_example_through_the_preview_api(shili, name):
    payload, expected = load_example(name)
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="449900"))
    response = client.post("/api/v1/settlements/preview/", payload, format="json")
    if expected is None:
        assert response.status_code == 400
        assert any("city_income" in e or "人均可支配收入" in e for e in response.json()["errors"])
        return
    assert response.status_code == 200, response.content
    assert comparable(response.json()) == comparable(expected)


def test_without_its_policy_a_region_under_guangdong_is_refused_not_paid(db):
    Region.objects.create(code="449900", name="示例市", level=RegionLevel.CITY, parent_id="440000")
    payload, _ = load_example("region449900_dibao_segments_and_outpatient_subcap")
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert (code, out) == (2, "") and "示例市" in err and "没有可用于结算的已发布政策版本" in err  # by its name
    code, out, err = run_settle("--lang", "en", "-", stdin=json.dumps(payload))
    assert (code, out) == (2, "") and "449900" in err and "no published policy version" in err
