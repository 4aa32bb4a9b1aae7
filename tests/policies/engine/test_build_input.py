"""``engine.build_input`` (typed values, e.g. database rows) checks exactly what ``engine.parse_input``
checks of the same values as JSON: equal inputs, or the same refusal with the same messages — so the
recalculation, which builds its inputs from rows, settles and refuses exactly as the case page does."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import engine
from policies.engine.constants import CATEGORIES, HOSPITAL_LEVELS, KINDS, LOCATIONS

money = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(lambda fen: Decimal(fen).scaleb(-2)),
    st.sampled_from([Decimal("-1.00"), Decimal("1.005"), Decimal("0")]),   # refused or edge values
)
days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 31))
categories = st.one_of(st.sampled_from(CATEGORIES), st.sampled_from(["own_cat", "Bad Code", "x" * 41]))


@st.composite
def claims(draw, i):
    return {
        "id": draw(st.sampled_from([f"c{i}", "c0", " "])),
        "date": draw(days),
        "kind": draw(st.one_of(st.sampled_from(KINDS), st.just("dental"))),
        "special_disease": draw(st.booleans()),
        "hospital_level": draw(st.one_of(st.sampled_from(HOSPITAL_LEVELS), st.just(4))),
        "location": draw(st.one_of(st.sampled_from(LOCATIONS), st.just("abroad"))),
        "referral_compliant": draw(st.booleans()),
        "total": draw(money),
        "policy_scope": draw(money),
        "basic_paid": draw(st.one_of(st.none(), money)),
        "critical_paid": draw(st.one_of(st.none(), money)),
    }


@st.composite
def values(draw):
    identities = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(days)
        identities.append({"category": draw(categories), "start": start,
                           "end": draw(st.one_of(st.none(), days))})
    n = draw(st.integers(0, 4))
    return {
        "region": draw(st.sampled_from(["360700", "130900", "36070"])),
        "residence": draw(st.sampled_from(["rural", "urban", "nomad"])),
        "scheme": draw(st.sampled_from(["resident", "employee", "none"])),
        "tilted_applied": draw(st.booleans()),
        "identities": identities,
        "claims": [draw(claims(i)) for i in range(n)],
    }


def as_json(v: dict) -> dict:
    def text(x):
        return None if x is None else f"{x}" if isinstance(x, Decimal) else x.isoformat()

    claims = []
    for c in v["claims"]:
        item = {k: c[k] for k in ("id", "kind", "special_disease", "hospital_level", "location", "referral_compliant")}
        item["date"] = c["date"].isoformat()
        for key in ("total", "policy_scope", "basic_paid", "critical_paid"):
            if c[key] is not None:
                item[key] = text(c[key])
        claims.append(item)
    return {"region": v["region"], "tilted_applied": v["tilted_applied"], "claims": claims,
            "person": {"residence": v["residence"], "scheme": v["scheme"],
                       "identities": [{"category": i["category"], "start": i["start"].isoformat(),
                                       "end": text(i["end"])} for i in v["identities"]]}}


def typed(v: dict) -> engine.SettlementInput:
    person = engine.Person(residence=v["residence"], scheme=v["scheme"],
                           identities=[engine.Identity(**i) for i in v["identities"]])
    return engine.build_input(region=v["region"], person=person, tilted_applied=v["tilted_applied"],
                              claims=[engine.Claim(**c) for c in v["claims"]])


def outcome(build):
    try:
        return "ok", build()
    except engine.InputError as exc:
        return "refused", sorted(exc.errors)


@settings(max_examples=400, deadline=None)
@given(values())
def test_build_input_equals_parse_input(v):
    got_typed = outcome(lambda: typed(v))
    got_json = outcome(lambda: engine.parse_input(as_json(v)))
    assert got_typed == got_json


def test_a_valid_input_is_the_same_both_ways():
    day = dt.date(2023, 5, 1)
    v = {"region": "360700", "residence": "rural", "scheme": "resident", "tilted_applied": False,
         "identities": [{"category": "dibao", "start": dt.date(2022, 1, 1), "end": None}],
         "claims": [{"id": "c1", "date": day, "kind": "inpatient", "special_disease": False, "hospital_level": 2,
                     "location": "county", "referral_compliant": True, "total": Decimal("45000.00"),
                     "policy_scope": Decimal("40000.00"), "basic_paid": None, "critical_paid": None}]}
    assert typed(v) == engine.parse_input(as_json(v))


def test_a_refusal_names_the_field():
    v = {"region": "360700", "residence": "rural", "scheme": "resident", "tilted_applied": False, "identities": [],
         "claims": [{"id": "c1", "date": dt.date(2023, 5, 1), "kind": "inpatient", "special_disease": False,
                     "hospital_level": 2, "location": "county", "referral_compliant": True,
                     "total": Decimal("100.00"), "policy_scope": Decimal("120.00"), "basic_paid": None,
                     "critical_paid": None}]}
    with pytest.raises(engine.InputError) as exc:
        typed(v)
    assert exc.value.errors == ["claims[0].policy_scope: 120.00 exceeds total 100.00"]
