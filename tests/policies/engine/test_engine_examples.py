"""Every worked example in shared/spec/examples passes to the fen (compared as its README says)."""
from __future__ import annotations

import json

import pytest
from engine_support import EXAMPLES

from policies.engine import InputError, settle_payload, static_book_from_seed

CLAIM_KEYS = ("category", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")
ALERT_KEYS = ("kind", "claim", "threshold", "out_of_pocket")

# region449900_* belong to a fictional city entered as data in the test that needs it, never seeded
# (tests/policies/engine/test_engine_region449900.py).
INPUTS = sorted(p for p in EXAMPLES.glob("*.input.json") if not p.name.startswith("region449900_"))
WITH_EXPECTED = [p for p in INPUTS if p.with_name(p.name.replace(".input.json", ".expected.json")).exists()]
REFUSED = [p for p in INPUTS if p not in WITH_EXPECTED]


def test_examples_are_there():
    assert EXAMPLES.is_dir(), f"examples not found at {EXAMPLES} (set PORTAL_SHARED_DIR)"
    assert len(WITH_EXPECTED) >= 6 and REFUSED


@pytest.mark.parametrize("path", WITH_EXPECTED, ids=lambda p: p.name.removesuffix(".input.json"))
def test_example(path):
    payload = json.loads(path.read_text(encoding="utf-8"))
    expected = json.loads(path.with_name(path.name.replace(".input.json", ".expected.json")).read_text(encoding="utf-8"))
    got = settle_payload(payload, static_book_from_seed)

    assert got["region"] == expected["region"]
    assert [c["id"] for c in got["claims"]] == [c["id"] for c in expected["claims"]]
    for g, e in zip(got["claims"], expected["claims"]):
        for key in CLAIM_KEYS:
            assert g[key] == e[key], f"{path.name} claim {e['id']} {key}: got {g[key]}, expected {e[key]}"
    assert got["totals"] == expected["totals"]
    assert [{k: a[k] for k in ALERT_KEYS} for a in got["alerts"]] == \
           [{k: a[k] for k in ALERT_KEYS} for a in expected["alerts"]]


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.name.removesuffix(".input.json"))
def test_refused_example(path):
    payload = json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(InputError) as err:
        settle_payload(payload, static_book_from_seed)
    assert err.value.errors


def test_scope_over_total_names_the_field():
    payload = json.loads((EXAMPLES / "error_scope_over_total.input.json").read_text(encoding="utf-8"))
    with pytest.raises(InputError) as err:
        settle_payload(payload, static_book_from_seed)
    assert err.value.errors == ["claims[0].policy_scope: 48000.00 exceeds total 45000.00"]
