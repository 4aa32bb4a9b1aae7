"""Each rule of settlement.md, region by region (plain pytest, no database)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from engine_support import STATS, book_of, by_id, claim, payload, run, seed_doc

from policies.engine import (
    InputError,
    PolicyError,
    enrolment_subsidy,
    parse_input,
    result_to_dict,
    set_parameter,
    settle,
    static_book_from_seed,
)

GZ, CZ, GD, BN, DZ = "360700", "130900", "440000", "500113", "341721"


def refused(p, factory=static_book_from_seed) -> list[str]:
    with pytest.raises(PolicyError) as err:
        run(p, factory)
    return err.value.errors


# ------------------------------------------------------------------------------------ 赣州 360700

def test_ganzhou_class1_general_outpatient_is_paid_in_full():
    for cat in ("tekun", "orphan"):
        out = run(payload(GZ, [claim(kind="outpatient_general", total="800.00", scope="600.00", basic="300.00")],
                          [(cat, "2020-01-01")]))
        c = out["claims"][0]
        assert (c["category"], c["route"], c["assistance"], c["out_of_pocket"]) == (cat, "general_outpatient", "300.00",
                                                                                   "200.00")


def test_ganzhou_class2_to_4_get_nothing_on_general_outpatient():
    for cat in ("dibao", "fanpin", "jiance", "dibao_edge", "illness_poverty", "other_special"):
        out = run(payload(GZ, [claim(kind="outpatient_general", total="800.00", scope="600.00", basic="300.00")],
                          [(cat, "2020-01-01")]))
        c = out["claims"][0]
        assert c["assistance"] == "0.00" and c["route"] is None
        assert c["notes"][0] == "该类别普通门诊不予救助（赣市府办字〔2022〕112号 五(一)）"   # the clause that leaves it out


def test_ganzhou_class1_inpatient_no_deductible_no_cap_and_orphan_as_tekun():
    for cat in ("tekun", "orphan"):
        out = run(payload(GZ, [claim(total="520000.00", scope="500000.00", basic="250000.00", critical="100000.00")],
                          [(cat, "2020-01-01")]))
        c = out["claims"][0]
        assert c["self_pay_in_scope"] == "150000.00" and c["assistance"] == "150000.00"
        assert c["out_of_pocket"] == "20000.00"


def test_ganzhou_class3_deductible_is_ten_percent_of_previous_year_city_income():
    # 10 % × 29 000 (2022) = 2 900; S = 5 000 → (5 000 − 2 900) × 0.65 = 1 365.
    out = run(payload(GZ, [claim(scope="10000.00", total="10000.00", basic="5000.00")], [("dibao_edge", "2020-01-01")]))
    assert out["claims"][0]["assistance"] == "1365.00"


def test_ganzhou_statistic_falls_back_two_years():
    # Only the 2021 figure is published when 2023 claims are settled: 10 % × 27 000 = 2 700.
    stats = {"city_income": {"2021": "27000.00"}, "province_rural_income": {"2021": "18000.00"}}
    out = run(payload(GZ, [claim(scope="10000.00", total="10000.00", basic="5000.00")], [("jiance", "2020-01-01")],
                      statistics=stats))
    assert out["claims"][0]["assistance"] == "1495.00"           # (5 000 − 2 700) × 0.65


def test_ganzhou_class4_cap_and_pool_shared_with_chronic_outpatient():
    # Class 4: 60 % above 25 % × 29 000 = 7 250, cap 20 000, inpatient and chronic outpatient in one pool.
    claims = [claim("a", "2023-02-01", "inpatient", "40000.00", "40000.00", "10000.00"),
              claim("b", "2023-03-01", "outpatient_chronic", "20000.00", "20000.00", "5000.00")]
    out = by_id(run(payload(GZ, claims, [("illness_poverty", "2020-01-01")])))
    assert out["a"]["assistance"] == "13650.00"                 # (30 000 − 7 250) × 0.6
    assert out["b"]["assistance"] == "6350.00"                  # 9 000 due, 20 000 − 13 650 left
    assert "已达年度救助限额" in out["b"]["notes"]


def test_ganzhou_tilted_needs_application_and_province():
    # dibao S = 100 000: A = 50 000 (cap); base 50 000 above 29 000 → 21 000 × 0.75 = 15 750.
    big = claim(total="150000.00", scope="150000.00", basic="50000.00", location="province")
    p = payload(GZ, [big], [("dibao", "2020-01-01")])
    c = run(p)["claims"][0]
    assert (c["assistance"], c["tilted"]) == ("50000.00", "0.00") and "倾斜救助需依申请" in c["notes"]
    p["tilted_applied"] = True
    assert run(p)["claims"][0]["tilted"] == "15750.00"
    p["claims"][0]["location"] = "out_of_province"
    c = run(p)["claims"][0]
    assert c["tilted"] == "0.00" and "超出倾斜救助就医地域范围" in c["notes"]
    p["claims"][0]["location"] = "province"
    p["claims"][0]["referral_compliant"] = False
    c = run(p)["claims"][0]
    assert (c["assistance"], c["tilted"]) == ("0.00", "0.00") and "未按规定转诊，不予救助" in c["notes"]


def test_tilted_applied_keyword_overrides_the_input():
    inp = parse_input(payload(GZ, [claim(total="150000.00", scope="150000.00", basic="50000.00")],
                              [("dibao", "2020-01-01")]))
    book = static_book_from_seed(GZ, inp.statistics)
    assert settle(inp, book).claims[0].tilted == Decimal("0.00")
    assert settle(inp, book, tilted_applied=True).claims[0].tilted == Decimal("15750.00")


def test_ganzhou_lookback_only_three_months_and_same_year():
    ident = [("illness_poverty", "2023-05-01")]
    base = dict(total="60000.00", scope="55000.00", basic="30000.00", critical="5000.00", location="province")
    # 2023-01-31 is more than three months before 2023-05-01: not counted.
    out = run(payload(GZ, [claim("early", "2023-01-31", **base),
                           claim("post", "2023-07-01", total="90000.00", scope="80000.00", basic="40000.00",
                                 critical="12000.00", location="province")], ident, tilted_applied=True))
    assert by_id(out)["post"]["tilted"] == "0.00"   # base 16 000 alone stays under 29 000
    # An identity starting next year never reaches back into this year.
    out = run(payload(GZ, [claim("dec", "2023-12-01", **base)], [("illness_poverty", "2024-01-15")],
                      tilted_applied=True))
    assert "身份认定前3个月内费用，计入倾斜救助" not in out["claims"][0]["notes"]


# ------------------------------------------------------------------------------------ 沧州 130900

def test_cangzhou_deductibles_are_the_2022_amounts_then_as_announced_never_computed():
    announced = {"annual_deductible_dibao_edge": {"2023": "3100.00"},
                 "annual_deductible_illness_poverty": {"2023": "7600.00"}}

    def one(cat, date, statistics=STATS):
        return run(payload(CZ, [claim(date=date, total="30000.00", scope="30000.00", basic="18000.00")],
                           [(cat, "2020-01-01")], statistics=statistics))["claims"][0]["assistance"]
    assert one("dibao_edge", "2022-06-01") == "6231.00"          # (12 000 − 2 700) × 0.67 (二(三) 2022 暂定)
    assert one("illness_poverty", "2022-06-01") == "3551.00"     # (12 000 − 6 700) × 0.67
    # 2023: "10%左右确定" — refused until the bureau's amount is entered; 10 % × I is never applied.
    for cat, name in (("dibao_edge", "annual_deductible_dibao_edge"),
                      ("illness_poverty", "annual_deductible_illness_poverty")):
        errors = refused(payload(CZ, [claim(date="2023-06-01")], [(cat, "2020-01-01")]))
        assert len(errors) == 1 and name in errors[0] and "2023" in errors[0] and "二(三)" in errors[0]
    both = {**STATS, **announced}
    assert one("dibao_edge", "2023-06-01", both) == "5963.00"       # (12 000 − 3 100) × 0.67
    assert one("illness_poverty", "2023-06-01", both) == "2948.00"  # (12 000 − 7 600) × 0.67
    # An announced amount for 2022 replaces the document's provisional one.
    assert one("dibao_edge", "2022-06-01", {**STATS, "annual_deductible_dibao_edge": {"2022": "2800.00"}}) == "6164.00"
    assert one("dibao", "2023-06-01") == "8400.00"               # 12 000 × 0.70, no deductible


def test_cangzhou_one_cap_for_outpatient_and_inpatient_and_tilted_above_half_city_income():
    claims = [claim("o", "2022-02-01", "outpatient_general", "12000.00", "12000.00", "2000.00"),
              claim("i", "2022-05-01", "inpatient", "40000.00", "40000.00", "10000.00")]
    out = by_id(run(payload(CZ, claims, [("dibao", "2020-01-01")])))
    assert out["o"]["assistance"] == "7000.00"
    assert out["i"]["assistance"] == "13000.00" and "已达年度救助限额" in out["i"]["notes"]
    # Tilted: bases 3 000 then 17 000, cumulative 20 000 above 13 500 → 6 500 × 0.8; no application needed.
    assert (out["o"]["tilted"], out["i"]["tilted"]) == ("0.00", "5200.00")


def test_cangzhou_cap_starts_again_each_calendar_year():
    claims = [claim("a", "2022-11-01", total="40000.00", scope="40000.00", basic="10000.00"),
              claim("b", "2023-01-05", total="40000.00", scope="40000.00", basic="10000.00")]
    out = by_id(run(payload(CZ, claims, [("tekun", "2020-01-01")])))
    assert out["a"]["assistance"] == out["b"]["assistance"] == "20000.00"


def test_cangzhou_computed_critical_illness_with_segments_and_cap():
    doc = seed_doc(CZ)
    doc = set_parameter(doc, "critical.cap", "20000.00")
    doc = set_parameter(doc, "critical.segments", [{"up_to": "50000.00", "ratio": "0.60"},
                                                   {"up_to": "none", "ratio": "0.70"}])
    factory = book_of([doc])
    claims = [claim("a", "2022-03-01", total="100000.00", scope="100000.00", basic="40000.00", critical=None),
              claim("b", "2022-04-01", total="20000.00", scope="20000.00", basic="10000.00", critical=None)]
    out = by_id(run(payload(CZ, claims, [("dibao_edge", "2020-01-01")]), factory))
    # D = 50 % × 27 000 = 13 500; f(60 000) = 0.6 × 36 500 + 0.7 × 10 000 = 28 900 → cap 20 000.
    assert out["a"]["critical_paid"] == "20000.00" and out["b"]["critical_paid"] == "0.00"
    # Preferential dibao: D 6 750, ratios +0.05, no cap: 0.65 × 43 250 + 0.75 × 10 000; then 0.75 × 10 000.
    out = by_id(run(payload(CZ, claims, [("dibao", "2020-01-01")]), factory))
    assert out["a"]["critical_paid"] == "35612.50" and out["b"]["critical_paid"] == "7500.00"


def test_cangzhou_unset_jiance_deductible_is_refused_naming_parameter_region_document():
    errors = refused(payload(CZ, [claim(date="2022-03-01")], [("jiance", "2021-01-01")]))
    assert errors == ["130900 沧政办规〔2022〕7号: assistance deductible for jiance (assistance.routes[3].deductible, "
                      "二(三)) is unset — an administrator must set it"]


def test_unset_parameter_never_blocks_when_the_amount_does_not_need_it():
    # jiance with nothing left after insurance: the unset deductible decides nothing.
    out = run(payload(CZ, [claim(date="2022-03-01", basic="10000.00")], [("jiance", "2021-01-01")]))
    assert out["claims"][0]["assistance"] == "0.00"


def test_cangzhou_basic_insurance_without_deductibles_is_refused():
    errors = refused(payload(CZ, [claim(date="2022-03-01", basic=None, hospital_level=2)], [("dibao", "2021-01-01")]))
    assert errors == ["130900 沧政办规〔2022〕7号: basic-insurance deductible (basic.rules[1].deductible, 三(二)) is "
                      "unset — an administrator must set it"]


def test_cangzhou_non_preferential_critical_cap_is_unset():
    errors = refused(payload(CZ, [claim(date="2022-03-01", scope="40000.00", total="40000.00", basic="10000.00",
                                        critical=None)], [("dibao_edge", "2021-01-01")]))
    assert errors == ["130900 沧政办规〔2022〕7号: critical-illness cap for dibao_edge (critical.cap, 三(三)) is unset — "
                      "an administrator must set it"]


def test_ganzhou_critical_deductible_unset_and_every_problem_reported_once():
    claims = [claim("a", "2023-02-01", critical=None), claim("b", "2023-03-01", critical=None),
              claim("c", "2022-09-01")]
    errors = refused(payload(GZ, claims, [("dibao", "2020-01-01")]))
    assert errors[0] == ("360700: no policy version in force on 2022-09-01 (claims[2], id 'c'); "
                         "versions: 赣市府办字〔2022〕112号 from 2022-10-01")
    assert errors[1:] == ["360700 赣市府办字〔2022〕112号: critical-illness deductible for dibao (critical.deductible, 三) "
                          "is unset — an administrator must set it"]


def test_missing_statistic_names_statistic_region_and_years():
    # 沧州 names no fallback: a 2023 claim needs the 2022 figure, never the 2021 one.
    stats = {"city_income": {"2021": "27000.00"}, "province_rural_income": STATS["province_rural_income"]}
    big = claim(date="2023-03-01", total="90000.00", scope="90000.00", basic="30000.00")
    errors = refused(payload(CZ, [big], [("dibao", "2021-01-01")], statistics=stats))
    assert len(errors) == 1
    msg = errors[0]
    for part in ("130900 沧政办规〔2022〕7号", "city_income", "region 130900", "missing for 2022 —", "tilted.threshold"):
        assert part in msg
    # 赣州 五(三) accepts the year before.
    out = run(payload(GZ, [big], [("dibao", "2021-01-01")], statistics=stats))
    assert out["claims"][0]["assistance"] == "45000.00"


def test_input_statistics_replace_stored_ones():
    stored = {"city_income": {2022: Decimal("100000.00")}}
    def factory(code, override):
        return static_book_from_seed(code, override if override is not None else stored)
    p = payload(GZ, [claim(scope="10000.00", total="10000.00", basic="5000.00")], [("dibao_edge", "2020-01-01")],
                statistics={"city_income": {"2022": "29000.00"}})
    assert run(p, factory)["claims"][0]["assistance"] == "1365.00"
    del p["statistics"]
    assert run(p, factory)["claims"][0]["assistance"] == "0.00"   # 10 % × 100 000 not reached


# ------------------------------------------------------------------------------------ 巴南 500113

def test_banan_special_disease_and_large_stay_have_their_own_pools():
    claims = [claim("sd", "2023-06-01", "outpatient_chronic", "250000.00", "250000.00", "20000.00", special_disease=True),
              claim("ls1", "2023-07-01", "inpatient", "100000.00", "100000.00", "30000.00", hospital_level=3),
              claim("ls2", "2023-08-01", "inpatient", "40000.00", "40000.00", "10000.00", hospital_level=2)]
    out = by_id(run(payload(BN, claims, [("dibao", "2023-01-01")])))
    assert (out["sd"]["route"], out["sd"]["assistance"]) == ("special_disease_class1", "200000.00")
    assert (out["ls1"]["route"], out["ls1"]["assistance"]) == ("large_stay_class1", "60000.00")
    assert out["ls2"]["assistance"] == "0.00" and "已达年度救助限额" in out["ls2"]["notes"]
    # Per-stay tilted (inpatient only): 10 000 − 5 000 → 3 000; 30 000 − 5 000 → 15 000 (cap 20 000).
    assert (out["sd"]["tilted"], out["ls1"]["tilted"], out["ls2"]["tilted"]) == ("0.00", "3000.00", "15000.00")


def test_banan_large_stay_conditions():
    def route(**kw):
        c = claim(date="2023-06-01", total="40000.00", scope=kw.pop("scope", "40000.00"), basic="10000.00", **kw)
        return run(payload(BN, [c], [("dibao_edge", "2023-01-01")]))["claims"][0]
    assert route(hospital_level=2)["assistance"] == "18000.00"           # whole S 30 000 × 0.6
    assert route(hospital_level=1)["assistance"] == "0.00"
    assert route(hospital_level=3, scope="30000.00")["assistance"] == "0.00"   # must exceed 30 000
    special = route(hospital_level=1, special_disease=True)
    assert (special["route"], special["assistance"]) == ("special_disease_others", "18000.00")
    assert route(hospital_level=3, kind="outpatient_chronic")["assistance"] == "0.00"


def test_banan_per_stay_tilted():
    def stay(cid, date, scope, basic, **kw):
        return claim(cid, date, "inpatient", scope, scope, basic, **kw)
    claims = [stay("a", "2023-06-01", "20000.00", "8000.00"), stay("b", "2023-07-01", "20000.00", "8000.00"),
              stay("c", "2023-08-01", "20000.00", "8000.00", location="province"),
              stay("d", "2023-09-01", "20000.00", "8000.00", referral_compliant=False),
              stay("e", "2023-10-01", "29000.00", "0.00")]
    out = by_id(run(payload(BN, claims, [("jiance", "2023-01-01")])))
    assert [out[k]["assistance"] for k in "abcde"] == ["0.00"] * 5        # level 1, not special: no route
    assert [out[k]["tilted"] for k in "abcde"] == ["4200.00", "4200.00", "0.00", "0.00", "11600.00"]
    assert "超出倾斜救助就医地域范围" in out["c"]["notes"]
    assert "已达倾斜救助年度限额" in out["e"]["notes"]


def test_banan_monitoring_unset_raises_no_alert_and_notes_it_once_a_year():
    claims = [claim("a", "2023-06-01", total="90000.00", scope="10000.00", basic="5000.00"),
              claim("b", "2023-07-01", total="90000.00", scope="10000.00", basic="5000.00"),
              claim("c", "2024-01-01", total="90000.00", scope="10000.00", basic="5000.00")]
    out = by_id(run(payload(BN, claims, [("dibao_edge", "2023-01-01")])))
    noted = [any("因病返贫监测标准未设定" in n for n in out[k]["notes"]) for k in "abc"]
    assert noted == [True, False, True]


def test_monitoring_set_by_a_later_version_in_the_year_still_alerts():
    v1 = set_parameter(seed_doc(GZ), "monitoring.return_to_poverty.threshold", None)
    v1["in_force_to"] = "2023-06-30"
    v2 = seed_doc(GZ)
    v2.update(document="赣测试〔2023〕2号", in_force_from="2023-07-01", retroactive_from=None)
    claims = [claim("a", "2023-03-01", total="20000.00", scope="0.00", basic="0.00"),
              claim("b", "2023-08-01", total="100.00", scope="0.00", basic="0.00")]
    out = run(payload(GZ, claims, [("tuopin", "2019-01-01")]), book_of([v1, v2]))
    assert any("因病返贫监测标准未设定" in n for n in out["claims"][0]["notes"])
    assert out["alerts"] == [{"kind": "return_to_poverty", "claim": "b", "threshold": "9500.00",
                              "out_of_pocket": "20100.00"}]


@pytest.mark.parametrize("category", ["orphan", "de_facto_orphan", "rural_priority_veteran", "severe_disability"])
def test_banan_previous_policy_categories_are_refused_never_paid_0(category):
    errors = refused(payload(BN, [claim(date="2023-06-01")], [(category, "2023-01-01")]))
    assert errors == [f"500113 巴南府办发〔2023〕30号: the assistance of category {category} (categories.unset[0].categories, "
                      "第三条) is left to another rule and unset — an administrator must set it"]


@pytest.mark.parametrize("category", ["fanpin", "tuopin", "other_special"])
def test_cangzhou_categories_left_to_the_province_are_refused(category):
    errors = refused(payload(CZ, [claim(date="2022-06-01")], [(category, "2020-01-01")]))
    assert errors == [f"130900 沧政办规〔2022〕7号: the assistance of category {category} (categories.unset[0].categories, "
                      "二(一)) is left to another rule and unset — an administrator must set it"]


def test_banan_special_disease_is_not_paid_on_general_outpatient():
    c = run(payload(BN, [claim(date="2023-06-01", kind="outpatient_general", special_disease=True)],
                    [("dibao", "2023-01-01")]))["claims"][0]
    assert (c["route"], c["assistance"]) == (None, "0.00")
    assert c["notes"][0].startswith("该类别普通门诊不予救助（巴南府办发〔2023〕30号")


def test_no_version_in_force_before_banan_document():
    errors = refused(payload(BN, [claim(date="2023-04-30")], [("dibao", "2023-01-01")]))
    assert errors == ["500113: no policy version in force on 2023-04-30 (claims[0], id 'c1'); versions: "
                      "巴南府办发〔2023〕30号 from 2023-05-01"]


# ------------------------------------------------------------------------------------ 东至 341721, 广东 440000

def test_dongzhi_assistance_is_refused_until_chizhou_numbers_are_set():
    errors = refused(payload(DZ, [claim(date="2023-03-01")], [("tekun", "2020-01-01")]))
    assert errors == ["341721 东医保办〔2022〕11号: assistance claim kinds for tekun (assistance.routes[0].kinds, 三(三)3) "
                      "is unset — an administrator must set it"]


def test_dongzhi_ordinary_resident_settles_and_monitoring_unset_is_noted():
    out = run(payload(DZ, [claim(date="2023-03-01")]))
    c = out["claims"][0]
    assert (c["category"], c["assistance"], c["out_of_pocket"]) == (None, "0.00", "5000.00")
    assert any("监测人群未设定" in n for n in c["notes"]) and out["alerts"] == []


def test_dongzhi_precedence_unset_refuses_only_when_a_choice_is_needed():
    errors = refused(payload(DZ, [claim(date="2023-03-01")], [("tekun", "2020-01-01"), ("dibao", "2020-01-01")]))
    assert errors == ["341721 东医保办〔2022〕11号: category precedence (categories.precedence) is unset — an "
                      "administrator must set it (needed to choose between tekun, dibao)"]


def test_guangdong_framework_alone_cannot_settle_a_recipient():
    errors = refused(payload("440100", [claim(date="2023-03-01")], [("dibao", "2020-01-01")]))
    assert errors == ["440000 粤府办〔2022〕40号: assistance ratio for dibao (assistance.routes[0].ratio, 二(四)) is "
                      "unset — an administrator must set it"]


# ------------------------------------------------------------------------------------ precedence

@pytest.mark.parametrize("region,identities,expected", [
    (GZ, [("jiance", "2020-01-01"), ("dibao", "2020-01-01")], "dibao"),
    (GZ, [("illness_poverty", "2020-01-01"), ("orphan", "2020-01-01")], "orphan"),
    (GZ, [("tekun", "2020-01-01", "2023-01-31"), ("dibao", "2020-01-01")], "dibao"),   # tekun ended
    (GZ, [("tuopin", "2020-01-01")], None),                                           # not a recipient
    (CZ, [("illness_poverty", "2020-01-01"), ("dibao_edge", "2020-01-01")], "dibao_edge"),
    (CZ, [("jiance", "2020-01-01"), ("dibao", "2020-01-01"), ("tekun", "2020-01-01")], "tekun"),
    (BN, [("dibao_edge", "2020-01-01"), ("illness_poverty", "2020-01-01")], "illness_poverty"),
    (BN, [("dibao", "2020-01-01"), ("orphan", "2020-01-01")], None),                   # orphan unranked: refused
])
def test_precedence(region, identities, expected):
    announced = {"annual_deductible_dibao_edge": {"2023": "3000.00"}, "annual_deductible_illness_poverty": {"2023": "7000.00"}}
    p = payload(region, [claim(date="2023-06-01", basic="9000.00")], identities, statistics={**STATS, **announced})
    if expected is None and region == BN:
        assert "does not rank orphan" in refused(p)[0]
        return
    assert run(p)["claims"][0]["category"] == expected


def test_cangzhou_fanpin_is_not_ranked_against_dibao():
    errors = refused(payload(CZ, [claim(date="2022-06-01")], [("dibao", "2020-01-01"), ("fanpin", "2020-01-01")]))
    assert errors == ["130900 沧政办规〔2022〕7号: categories.precedence does not rank fanpin — cannot choose between "
                      "dibao, fanpin; an administrator must rank it"]


def test_category_change_within_the_year_keeps_the_pool():
    # dibao until May (75 %, cap 50 000), then jiance (65 % above 2 900, cap 30 000): one "inpatient" pool.
    claims = [claim("a", "2023-03-01", total="50000.00", scope="50000.00", basic="10000.00"),
              claim("b", "2023-07-01", total="20000.00", scope="20000.00", basic="10000.00")]
    out = by_id(run(payload(GZ, claims, [("dibao", "2020-01-01", "2023-05-31"), ("jiance", "2023-06-01")])))
    assert out["a"]["assistance"] == "30000.00"
    # cum S 40 000 → 50 000 is all above 2 900: 10 000 × 0.65 = 6 500, but 30 000 of the cap is used.
    assert (out["b"]["category"], out["b"]["assistance"]) == ("jiance", "0.00")


# ------------------------------------------------------------------------------------ versions

def test_version_change_mid_year_keeps_accumulators():
    v1 = set_parameter(seed_doc(GZ), "assistance.routes[2].ratio", "0.75")
    v1["in_force_to"] = "2023-06-30"
    v2 = set_parameter(seed_doc(GZ), "assistance.routes[2].ratio", "0.80")
    v2.update(document="赣测试〔2023〕1号", in_force_from="2023-07-01", retroactive_from=None)
    factory = book_of([v1, v2])
    claims = [claim("a", "2023-03-01", total="70000.00", scope="70000.00", basic="10000.00"),
              claim("b", "2023-08-01", total="30000.00", scope="30000.00", basic="10000.00")]
    out = by_id(run(payload(GZ, claims, [("dibao", "2020-01-01")]), factory))
    assert (out["a"]["policy"], out["a"]["assistance"]) == ("赣市府办字〔2022〕112号", "45000.00")
    assert (out["b"]["policy"], out["b"]["assistance"]) == ("赣测试〔2023〕1号", "5000.00")   # 16 000 due, 5 000 left


def test_retroactive_document_settles_from_its_retroactive_date():
    out = run(payload(GZ, [claim(date="2022-10-01")], [("dibao", "2020-01-01")]))
    assert out["claims"][0]["assistance"] == "3750.00"


def test_claims_come_out_in_date_order_ties_in_input_order_with_two_decimals():
    claims = [claim("z", "2023-05-01", total=100, scope=100, basic=50),
              claim("y", "2023-04-01", total="100.5", scope="100.5", basic="50"),
              claim("x", "2023-05-01", total="1", scope="1", basic="0")]
    out = run(payload(GZ, claims))
    assert [c["id"] for c in out["claims"]] == ["y", "z", "x"]
    assert out["claims"][0]["total"] == "100.50" and out["claims"][1]["basic_paid"] == "50.00"
    assert out["totals"]["total"] == "201.50"
    assert set(out["claims"][0]) == {"id", "policy", "category", "route", "total", "policy_scope", "basic_paid",
                                     "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket",
                                     "notes"}


def test_computed_and_given_amounts_must_not_exceed_policy_scope():
    doc = set_parameter(seed_doc(CZ), "basic.rules[0].deductible", "none")
    doc = set_parameter(doc, "basic.rules[0].cap", "none")
    with pytest.raises(InputError) as err:
        run(payload(CZ, [claim(date="2022-03-01", total="1000.00", scope="1000.00", basic=None, critical="800.00")]),
            book_of([doc]))
    assert err.value.errors == ["claims[0]: basic_paid + critical_paid (1500.00) exceeds policy_scope 1000.00 "
                                "(with the computed amounts)"]


def test_claim_result_fields_for_the_ui():
    inp = parse_input(payload(GZ, [claim(total="150000.00", scope="150000.00", basic="50000.00")],
                              [("jiance", "2020-01-01")], tilted_applied=True))
    r = settle(inp, static_book_from_seed(GZ, inp.statistics)).claims[0]
    assert (r.pool, r.route, r.assistance_deductible, r.assistance_cap_reached) == ("inpatient", "inpatient",
                                                                                    Decimal("2900.00"), True)
    assert r.assistance == Decimal("30000.00") and r.tilted_threshold == Decimal("29000.00")
    assert r.year_out_of_pocket == r.out_of_pocket and not r.basic_computed
    assert result_to_dict(settle(inp, static_book_from_seed(GZ, inp.statistics)))["claims"][0]["assistance"] == "30000.00"


# ------------------------------------------------------------------------------------ monitoring

def test_return_to_poverty_alert_once_per_year_with_cumulative_out_of_pocket():
    # 赣州 tuopin: 50 % × 19 000 (2022) = 9 500; 2024 uses 2023: 10 000.
    claims = [claim("a", "2023-02-01", total="5000.00", scope="0.00", basic="0.00"),
              claim("b", "2023-03-01", total="4500.00", scope="0.00", basic="0.00"),   # 9 500: not above
              claim("c", "2023-04-01", total="100.00", scope="0.00", basic="0.00"),
              claim("d", "2023-05-01", total="9000.00", scope="0.00", basic="0.00"),
              claim("e", "2024-02-01", total="10000.01", scope="0.00", basic="0.00")]
    out = run(payload(GZ, claims, [("tuopin", "2019-01-01")]))
    assert out["alerts"] == [
        {"kind": "return_to_poverty", "claim": "c", "threshold": "9500.00", "out_of_pocket": "9600.00"},
        {"kind": "return_to_poverty", "claim": "e", "threshold": "10000.00", "out_of_pocket": "10000.01"}]


def test_fall_into_poverty_watches_rural_people_without_category_only():
    claims = [claim("a", "2023-02-01", total="20000.00", scope="0.00", basic="0.00")]
    assert run(payload(GZ, claims))["alerts"][0]["kind"] == "fall_into_poverty"
    assert run(payload(GZ, claims, residence="urban"))["alerts"] == []
    assert run(payload(GZ, claims, [("tuopin", "2019-01-01")]))["alerts"][0]["kind"] == "return_to_poverty"
    # 沧州 watches ordinary resident-scheme members, urban too, not the employee scheme.
    claims = [claim("a", "2022-02-01", total="20000.00", scope="0.00", basic="0.00")]
    assert run(payload(CZ, claims, residence="urban"))["alerts"][0]["threshold"] == "18000.00"
    assert run(payload(CZ, claims, scheme="employee"))["alerts"] == []


def test_missing_statistic_only_monitoring_needs_never_blocks():
    stats = {"city_income": STATS["city_income"]}
    out = run(payload(GZ, [claim(total="90000.00", scope="10000.00")], statistics=stats))
    assert out["alerts"] == [] and any("province_rural_income" in n for n in out["claims"][0]["notes"])


# ------------------------------------------------------------------------------------ enrolment, books

def test_enrolment_subsidies():
    v = {code: static_book_from_seed(code).versions[0] for code in (GZ, CZ, BN, DZ)}
    assert enrolment_subsidy(v[BN], "dibao", Decimal("380.00")) == Decimal("342.00")
    assert enrolment_subsidy(v[BN], "jiance", Decimal("600.00"), tier=2,
                             tier1_personal_contribution=Decimal("380.00")) == Decimal("380.00")
    assert enrolment_subsidy(v[CZ], "fanpin", Decimal("380.00")) == Decimal("228.00")
    assert enrolment_subsidy(v[DZ], "jiance", Decimal("380.00")) == Decimal("190.00")
    assert enrolment_subsidy(v[GZ], "tekun", Decimal("380.00")) == Decimal("380.00")
    assert enrolment_subsidy(v[GZ], "dibao_edge", Decimal("380.00")) is None
    with pytest.raises(PolicyError) as err:
        enrolment_subsidy(v[GZ], "dibao", Decimal("380.00"))
    assert "enrolment.subsidies[1].standard" in err.value.errors[0] and "赣市府办字〔2022〕112号" in err.value.errors[0]


def test_static_book_walks_up_the_region_tree():
    county = static_book_from_seed("360702")
    assert county.region == "360702" and [v.document for v in county.versions] == ["赣市府办字〔2022〕112号"]
    guangzhou = static_book_from_seed("440100")
    assert guangzhou.versions[0].framework and guangzhou.frameworks == []
    with pytest.raises(PolicyError) as err:
        static_book_from_seed("110000")
    assert "110000" in err.value.errors[0]
    out = run(payload("360702", [claim(kind="outpatient_general", basic="0.00")], [("tekun", "2020-01-01")]))
    assert out["region"] == "360702" and out["claims"][0]["assistance"] == "10000.00"
