"""示例市 (449900, shared/spec/examples/region_449900.md): a fictional city that tests create under
广东省 (440000) and whose policy they enter as data, through the policy import, and publish — it is
never seeded. :func:`enter_shili` does that; with ``county=True`` it adds 示例县 (449901), whose own
version inherits the city's and defines a category of its own (what a city's pushes must accept)."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from policies import services
from policies.models import PolicyVersion, VersionStatus
from portal.regions.models import Region, RegionLevel
from tests.factories import make_user

FIXTURE = Path(__file__).resolve().parent / "policies" / "fixtures" / "region449900.policy.json"
CITY, COUNTY = "449900", "449901"
#: 示例县's own category (a county document of the test's making, entered through the import too).
COUNTY_CATEGORY = {"name": "county_hardship", "label": "示例县困难群众",
                   "department": {"value": "civil_affairs", "clause": "第三条"},
                   "push_names": {"value": ["县困难群众", "困难群众（县定）"], "clause": "第三条"}}


def county_policy_file() -> bytes:
    doc = {
        "region": COUNTY, "document": "示例县医保发〔2023〕2号", "title": "示例县医疗救助补充规定（虚构，测试用）",
        "framework": False, "in_force_from": "2023-01-01", "in_force_to": None, "retroactive_from": None,
        "inherits": CITY,
        "parameters": {"categories": {"regional": [COUNTY_CATEGORY]}},
    }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _import_and_publish(admin, content: bytes, filename: str) -> PolicyVersion:
    draft = services.import_policy(acting_user=admin, content=content, filename=filename)
    assert draft.status == VersionStatus.DRAFT
    return services.publish_version(acting_user=admin, version=draft, confirm_document=draft.document_number,
                                    in_force_from=datetime.date(2023, 1, 1))


def enter_shili(*, county: bool = False):
    """Create 示例市 (and 示例县) and enter their policies as data; returns the city's policy admin."""
    assert not PolicyVersion.objects.filter(region_id=CITY).exists(), "449900 must never be seeded"
    Region.objects.create(code=CITY, name="示例市", level=RegionLevel.CITY, parent_id="440000")
    admin = make_user("policy_admin", region=CITY, username="shili_policy")
    _import_and_publish(admin, FIXTURE.read_bytes(), FIXTURE.name)
    if county:
        Region.objects.create(code=COUNTY, name="示例县", level=RegionLevel.COUNTY, parent_id=CITY)
        _import_and_publish(admin, county_policy_file(), "449901.policy.json")
    return admin
