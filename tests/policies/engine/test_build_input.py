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


fen = st.one_of(st.integers(min_value=0, max_value=10**11), st.sampled_from([-1, -100, 0]))


@st.composite
def fen_values(draw):
    """As ``values``, the amounts as integer fen (what a database gives as ``CAST(ROUND(x * 100))``)."""
    v = draw(values())
    for c in v["claims"]:
        for key in ("total", "policy_scope"):
            c[key] = draw(fen)
        for key in ("basic_paid", "critical_paid"):
            c[key] = draw(st.one_of(st.none(), fen))
    return v


def as_decimals(v: dict) -> dict:
    out = {**v, "claims": [dict(c) for c in v["claims"]]}
    for c in out["claims"]:
        for key in ("total", "policy_scope", "basic_paid", "critical_paid"):
            if c[key] is not None:
                c[key] = Decimal(c[key]).scaleb(-2)
    return out


def typed_fen(v: dict) -> engine.SettlementInput:
    person = engine.Person(residence=v["residence"], scheme=v["scheme"],
                           identities=[engine.Identity(**i) for i in v["identities"]])
    claims = [engine.FenClaim.of(c["id"], c["date"], c["kind"], c["total"], c["policy_scope"], c["special_disease"],
                                 c["hospital_level"], c["location"], c["referral_compliant"], c["basic_paid"],
                                 c["critical_paid"]) for c in v["claims"]]
    return engine.build_input(region=v["region"], person=person, tilted_applied=v["tilted_applied"], claims=claims)


def plain(outcome_):
    """An outcome with FenClaims turned into Claims of the same values (to compare with parse_input's)."""
    status, got = outcome_
    if status != "ok":
        return outcome_
    claims = [engine.Claim(c.id, c.date, c.kind, c.total, c.policy_scope, c.special_disease, c.hospital_level,
                           c.location, c.referral_compliant, c.basic_paid, c.critical_paid) for c in got.claims]
    assert [(c._t, c._p, c._b, c._c, c._ord, c._year) for c in claims] == \
        [(c._t, c._p, c._b, c._c, c._ord, c._year) for c in got.claims]
    got.claims = claims
    return status, got


@settings(max_examples=400, deadline=None)
@given(fen_values())
def test_fen_claims_are_checked_as_parse_input_checks_them(v):
    """Claims read as integer fen (the simulation's) give the input, or the refusal word for word,
    that the same amounts as JSON give."""
    got_fen = plain(outcome(lambda: typed_fen(v)))
    got_json = outcome(lambda: engine.parse_input(as_json(as_decimals(v))))
    assert got_fen == got_json


def test_a_fen_claim_settles_as_the_claim_of_the_same_amounts():
    book = engine.static_book_from_seed("360700")
    day = dt.date(2023, 5, 1)
    person = engine.Person(identities=[engine.Identity("dibao", dt.date(2022, 1, 1))])
    fen_claim = engine.FenClaim.of("c1", day, "inpatient", 4_500_000, 4_000_000, False, 2, "county", True, 2_000_000, 300_050)
    claim = engine.Claim("c1", day, "inpatient", Decimal("45000.00"), Decimal("40000.00"), hospital_level=2,
                         basic_paid=Decimal("20000.00"), critical_paid=Decimal("3000.50"))
    assert fen_claim.total == Decimal("45000.00") and fen_claim.critical_paid == Decimal("3000.50")
    results = [engine.result_to_dict(engine.settle(engine.build_input(region="360700", person=person, claims=[c]), book))
               for c in (fen_claim, claim)]
    assert results[0] == results[1] and results[0]["totals"]["assistance"] != "0.00"
