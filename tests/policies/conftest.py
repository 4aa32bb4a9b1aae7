"""Fixtures of the policies part's Django tests: users of 赣州市 and 沧州市, the seeded versions."""
from __future__ import annotations

import json

import pytest
from django.conf import settings

from policies.models import PolicyVersion, VersionStatus
from tests.factories import make_user

EXAMPLES = settings.SHARED_DIR / "spec" / "examples"


def example_names(*, region449900: bool = False) -> list[str]:
    """The public examples; ``region449900`` (a fictional city a test creates and enters as data)
    instead of the seeded regions' ones."""
    names = sorted(p.name.removesuffix(".input.json") for p in EXAMPLES.glob("*.input.json"))
    return [n for n in names if n.startswith("region449900_") == region449900]


def load_example(name: str) -> tuple[dict, dict | None]:
    payload = json.loads((EXAMPLES / f"{name}.input.json").read_text(encoding="utf-8"))
    expected_path = EXAMPLES / f"{name}.expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else None
    return payload, expected


CLAIM_KEYS = ("category", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")
ALERT_KEYS = ("kind", "claim", "threshold", "out_of_pocket")


def comparable(result: dict) -> dict:
    """What the examples README says to compare: per claim, the totals, the alerts."""
    return {
        "claims": {c["id"]: {k: c[k] for k in CLAIM_KEYS} for c in result["claims"]},
        "order": [c["id"] for c in result["claims"]],
        "totals": result["totals"],
        "alerts": [{k: a[k] for k in ALERT_KEYS} for a in result["alerts"]],
    }


@pytest.fixture
def gz_admin(db):
    return make_user("policy_admin", region="360700", username="gz_policy_t")


@pytest.fixture
def cz_admin(db):
    return make_user("policy_admin", region="130900", username="cz_policy_t")


@pytest.fixture
def gz_auditor(db):
    return make_user("auditor", region="360700", username="gz_auditor_t")


@pytest.fixture
def ganzhou(db) -> PolicyVersion:
    return PolicyVersion.objects.get(region_id="360700", status=VersionStatus.PUBLISHED)


@pytest.fixture
def cangzhou(db) -> PolicyVersion:
    return PolicyVersion.objects.get(region_id="130900", status=VersionStatus.PUBLISHED)


def route_index(version: PolicyVersion, category: str, kind: str = "inpatient") -> int:
    """Index of the assistance route of ``version`` covering ``category`` and ``kind`` (seed order may change)."""
    routes = version.document["parameters"]["assistance"]["routes"]
    for i, route in enumerate(routes):
        if category in (route["categories"]["value"] or []) and kind in (route["kinds"]["value"] or []):
            return i
    raise LookupError(f"no route for {category} {kind}")


def whatif_data(payload: dict, *, region: str, a: str = "in_force", b: str = "", every: bool = False) -> dict:
    """The what-if form as a person fills it in: the rows of ``payload``, versions A (and B)."""
    from policies import inputforms

    initial = inputforms.initial_from(payload)
    data = {"region": region, "version_a": a, "version_b": b, "case_number": "", "calculate": "1",
            "person-residence": initial["person"]["residence"], "person-scheme": initial["person"]["scheme"],
            "person-tilted_applied": initial["person"]["tilted_applied"]}
    if every:
        data["every_date"] = "on"
    for prefix, rows in (("ident", initial["identities"]), ("stat", initial["statistics"]), ("claim", initial["claims"])):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = "" if value is None else str(value)
    return data
