"""Each shape of policy-model.md at and around its boundaries, on small documents built here, and
hypothesis properties over random policies built from the shapes."""
from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from engine_support import REPO, by_id, claim, payload, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.engine import PolicyBook, PolicyError, PolicyVersion, parse_input, settle

FIXTURE = REPO / "tests" / "policies" / "fixtures" / "region449900.policy.json"
STATS = {"city_income": {"2022": "40000.00"}, "province_rural_income": {"2022": "20000.00"}}


def shili() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def factory(*docs, parents=()):
    versions = [PolicyVersion.from_document(d) for d in docs]
    pv = [PolicyVersion.from_document(d) for d in parents]
    return lambda code, stats: PolicyBook(region=code, versions=versions, statistics=stats or {}, parents=pv)


def go(doc, claims, cat, **kw):
    return by_id(run(payload("449900", claims, [(cat, "2022-01-01")], statistics=STATS, **kw), factory(doc)))


def test_segment_boundary_at_exactly_20000_and_one_fen_above():
    # dibao, level 2 (no +5): the first 20 000.00 of E at 75 %, above at 80 %.
    out = go(shili(), [claim("a", "2023-03-01", total="20000.00", scope="20000.00", basic="0.00", hospital_level=2),
                       claim("b", "2023-04-01", total="0.01", scope="0.01", basic="0.00", hospital_level=2)], "dibao")
    assert (out["a"]["assistance"], out["b"]["assistance"]) == ("15000.00", "0.01")   # 0.01 × 0.80 → 0.008 → 0.01
    one = go(shili(), [claim("a", "2023-03-01", total="20000.01", scope="20000.01", basic="0.00", hospital_level=2)],
             "dibao")
    assert one["a"]["assistance"] == "15000.01"      # 15 000 + 0.01 × 0.80 = 15 000.008


def test_level_adjustment_is_clamped_to_one():
    doc = shili()
    doc["parameters"]["assistance"]["routes"][3]["ratio_adjustments"]["value"] = [{"hospital_level": 1, "add": "0.50"}]
    out = go(doc, [claim("a", "2023-03-01", total="10000.00", scope="10000.00", basic="0.00")], "dibao")
    assert out["a"]["assistance"] == "10000.00"      # 75 % + 50 points → 100 %, never above S


def test_route_sub_cap_inside_the_pool_at_and_around_1000():
    out = go(shili(), [claim("a", "2023-01-05", "outpatient_general", "999.99", "999.99", "0.00"),
                       claim("b", "2023-01-06", "outpatient_general", "0.02", "0.02", "0.00"),
                       claim("c", "2023-05-01", "inpatient", "5000.00", "5000.00", "0.00")], "tekun")
    assert [out[k]["assistance"] for k in "abc"] == ["999.99", "0.01", "5000.00"]    # the sub-cap, then the pool


def test_gate_at_exactly_the_cap():
    # illness_poverty, per stay at level 2 (deductible 1 000), 60 %, cap 30 000: S = 51 000 → A = 30 000 exactly.
    out = go(shili(), [claim("a", "2023-03-01", total="51000.00", scope="51000.00", basic="0.00", hospital_level=2,
                             location="province")], "illness_poverty", tilted_applied=True)
    a = out["a"]
    assert a["assistance"] == "30000.00"
    assert a["tilted"] == "0.00"                     # base 21 000 under the threshold 40 000, but the gate is open
    out = go(shili(), [claim("a", "2023-03-01", total="50999.99", scope="50999.99", basic="0.00", hospital_level=2,
                             location="province"),
                       claim("b", "2023-04-01", total="60000.00", scope="60000.00", basic="0.00", hospital_level=3,
                             location="province")], "illness_poverty", tilted_applied=True)
    # a: A = 29 999.99, one fen under the cap: no G (its base still counts). b: A = 0.01 reaches the cap:
    # base 21 000.00 + 59 999.99 = 80 999.99 − 40 000 → 40 999.99 × 60 % = 24 599.99 → cap 20 000.
    assert (out["a"]["assistance"], out["a"]["tilted"]) == ("29999.99", "0.00")
    assert (out["b"]["assistance"], out["b"]["tilted"]) == ("0.01", "20000.00")


def test_announced_amount_missing_is_refused_and_given_is_used():
    doc = shili()
    doc["parameters"]["assistance"]["routes"][4]["deductible"]["value"] = {"announced": "annual_deductible_class3"}
    p = payload("449900", [claim(date="2023-03-01", total="10000.00", scope="10000.00", basic="0.00")],
                [("jiance", "2022-01-01")], statistics=STATS)
    with pytest.raises(PolicyError) as err:
        run(p, factory(doc))
    [problem] = err.value.problems
    assert (problem.code, problem.path, problem.params["name"], problem.params["year"]) == \
        ("policy.announced_missing", "assistance.routes[4].deductible", "annual_deductible_class3", 2023)
    p["statistics"] = {**STATS, "annual_deductible_class3": {"2023": "3000.00"}}
    assert run(p, factory(doc))["claims"][0]["assistance"] == "4550.00"      # (10 000 − 3 000) × 65 %


def test_inherited_number_breaking_the_county_floor_is_refused_naming_the_county_clause():
    city = copy.deepcopy(shili())
    city.update(region="341700", document="池州市医保〔2023〕1号")
    city["parameters"]["assistance"]["routes"][2]["ratio"]["value"] = "0.65"      # class 1 inpatient
    county = {"region": "341721", "document": "东至县〔2023〕1号", "title": "东至县", "framework": False,
              "in_force_from": "2023-01-01", "in_force_to": None, "retroactive_from": None, "inherits": "341700",
              "parameters": {"categories": {"recipients": {"value": None, "clause": None},
                                            "precedence": {"value": None, "clause": None}},
                             "assistance": {"routes": [{"name": "class1_inpatient",
                                                        "ratio": {"value": None, "clause": "二(五)"},
                                                        "ratio_min": {"value": "0.70", "clause": "二(五)"}}]}}}
    p = payload("341721", [claim(date="2023-03-01", total="10000.00", scope="10000.00", basic="0.00")],
                [("tekun", "2022-01-01")], statistics=STATS)
    with pytest.raises(PolicyError) as err:
        run(p, factory(county, parents=[city]))
    [problem] = err.value.problems
    assert problem.code == "policy.ratio_below_floor" and problem.params["clause"] == "二(五)"
    city["parameters"]["assistance"]["routes"][2]["ratio"]["value"] = "0.80"
    assert run(p, factory(county, parents=[city]))["claims"][0]["assistance"] == "8000.00"   # inherited 80 %


def test_a_claim_no_route_covers_gets_0_with_the_clause():
    out = go(shili(), [claim("a", "2023-03-01", "outpatient_general", "500.00", "500.00", "0.00")], "jiance")
    assert out["a"]["assistance"] == "0.00"
    assert out["a"]["notes"][0] == "该类别普通门诊不予救助（示例市医保规〔2023〕1号 第四条）"


# ------------------------------------------------------------------------------------ properties

@st.composite
def policies_and_claims(draw):
    """A random one-category policy from the shapes, and a year of claims."""
    route = {"name": "r", "label": "r", "categories": {"value": ["dibao"], "clause": "x"},
             "kinds": {"value": ["inpatient", "outpatient_general", "outpatient_chronic"], "clause": "x"},
             "pool": {"value": "p", "clause": "x"}}
    basis = draw(st.sampled_from(["annual", "per_claim"]))
    ded = draw(st.sampled_from(["none", "amount", "by_level"]))
    route["deductible"] = {"value": {"none": "none", "amount": f"{draw(st.integers(0, 5000))}.00",
                                     "by_level": {"by_level": {"1": "100.00", "2": "500.00", "3": "1500.00"}}}[ded],
                           "clause": "x"}
    route["deductible_basis"] = {"value": basis, "clause": "x"}
    if draw(st.booleans()):
        cut = draw(st.integers(1, 50000))
        route["segments"] = {"value": [{"up_to": f"{cut}.00", "ratio": f"0.{draw(st.integers(10, 99))}"},
                                       {"up_to": "none", "ratio": f"0.{draw(st.integers(10, 99))}"}], "clause": "x"}
    else:
        route["ratio"] = {"value": f"0.{draw(st.integers(0, 99)):02d}", "clause": "x"}
    if draw(st.booleans()):
        route["ratio_adjustments"] = {"value": [{"hospital_level": 1, "add": "0.30"},
                                                {"location": "out_of_province", "add": "-0.40"}], "clause": "x"}
    if draw(st.booleans()):
        route["non_referral_reduction"] = {"value": "0.20", "clause": "x"}
    cap = draw(st.integers(1, 80000))
    route["cap"] = {"value": f"{cap}.00", "clause": "x"}
    sub = draw(st.one_of(st.none(), st.integers(1, 5000)))
    if sub is not None:
        route["sub_cap"] = {"value": f"{sub}.00", "clause": "x"}
    tcap = draw(st.integers(1, 30000))
    tilted = {"name": "t", "label": "t", "categories": {"value": ["dibao"], "clause": "x"},
              "kinds": {"value": ["inpatient", "outpatient_chronic"], "clause": "x"},
              "scope": {"value": draw(st.sampled_from(["province", "city", "any"])), "clause": "x"},
              "on_application": {"value": False, "clause": "x"},
              "basis": {"value": draw(st.sampled_from(["annual", "per_stay"])), "clause": "x"},
              "threshold": {"value": f"{draw(st.integers(0, 20000))}.00", "clause": "x"},
              "ratio": {"value": "0.70", "clause": "x"}, "cap": {"value": f"{tcap}.00", "clause": "x"},
              "lookback_months": {"value": 0, "clause": None},
              "after_assistance_cap": {"value": draw(st.booleans()), "clause": "x"}}
    doc = {"region": "449900", "document": "随机", "title": "随机", "framework": False, "in_force_from": "2023-01-01",
           "in_force_to": None, "retroactive_from": None,
           "parameters": {"categories": {"recipients": {"value": ["dibao"], "clause": "x"},
                                         "precedence": {"value": ["dibao"], "clause": "x"}},
                          "assistance": {"routes": [route]}, "tilted_rules": [tilted]}}
    claims = []
    for i in range(draw(st.integers(1, 6))):
        scope = draw(st.integers(0, 9_000_000))
        basic = draw(st.integers(0, scope))
        claims.append(claim(f"c{i}", f"2023-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}",
                            draw(st.sampled_from(["inpatient", "outpatient_general", "outpatient_chronic"])),
                            f"{(scope + draw(st.integers(0, 100000))) / 100:.2f}", f"{scope / 100:.2f}",
                            f"{basic / 100:.2f}", hospital_level=draw(st.integers(1, 3)),
                            location=draw(st.sampled_from(["county", "city", "province", "out_of_province"])),
                            referral_compliant=draw(st.booleans())))
    return doc, claims, cap * 100, (sub * 100 if sub is not None else None), tcap * 100


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies_and_claims())
def test_random_policies_add_up_stay_within_caps_and_never_go_negative(case):
    doc, claims, cap, sub, tcap = case
    inp = parse_input(payload("449900", claims, [("dibao", "2022-01-01")], statistics=STATS))
    book = PolicyBook(region="449900", versions=[PolicyVersion.from_document(doc)],
                      statistics={k: {int(y): Decimal(v) for y, v in s.items()} for k, s in STATS.items()})
    result = settle(inp, book)
    a_sum = t_sum = outpatient = 0
    for c in result.claims:
        for f in ("basic_paid_fen", "critical_paid_fen", "self_pay_in_scope_fen", "assistance_fen", "tilted_fen",
                  "out_of_pocket_fen"):
            assert getattr(c, f) >= 0
        assert c.total_fen == c.basic_paid_fen + c.critical_paid_fen + c.assistance_fen + c.tilted_fen + c.out_of_pocket_fen
        assert c.assistance_fen + c.tilted_fen <= c.self_pay_in_scope_fen
        a_sum += c.assistance_fen
        t_sum += c.tilted_fen
        if c.route is not None:
            outpatient += c.assistance_fen
    assert a_sum <= cap and t_sum <= tcap
    if sub is not None:
        assert outpatient <= sub          # every payment of the one route counts against its sub-cap
