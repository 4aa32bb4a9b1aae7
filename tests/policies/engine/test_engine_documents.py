"""Version documents: the seeds, validation, generic parameter access, provincial frameworks."""
from __future__ import annotations

import copy
import re

import pytest
from engine_support import SEED_DIR, STATS, book_of, claim, payload, run, seed_doc

from policies.engine import (
    PolicyError,
    PolicyVersion,
    get_parameter,
    parameter_leaves,
    set_parameter,
    validate_against_framework,
    validate_document,
)

REGIONS = ("360700", "130900", "440000", "500113", "341721")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("region", REGIONS)
def test_seed_documents_are_valid_and_every_leaf_has_a_chinese_label(region):
    doc = seed_doc(region)
    assert validate_document(doc) == []
    leaves = parameter_leaves(doc)
    assert len(leaves) > 10
    for leaf in leaves:
        assert CJK.search(leaf.label), leaf
        assert get_parameter(doc, leaf.path) == leaf.value
    assert {p.name for p in SEED_DIR.glob("*.json")} >= {f"{r}.json" for r in REGIONS}


def test_seed_metadata():
    assert seed_doc("440000")["framework"] is True
    assert [seed_doc(r)["in_force_from"] for r in ("360700", "130900", "500113")] == \
           ["2022-10-01", "2022-01-01", "2023-05-01"]
    assert seed_doc("360700")["retroactive_from"] == "2022-10-01"


def test_unset_is_valid_and_distinct_from_none():
    dz = seed_doc("341721")
    assert get_parameter(dz, "assistance.routes[0].ratio") is None          # unset: ≥ 70 % is only a floor
    assert get_parameter(dz, "assistance.routes[0].ratio_min") == "0.70"
    gz = seed_doc("360700")
    assert get_parameter(gz, "assistance.routes[1].cap") == "none"           # no cap
    assert get_parameter(gz, "critical.deductible") is None                  # unset
    leaf = next(leaf for leaf in parameter_leaves(gz) if leaf.path == "assistance.routes[3].deductible")
    assert leaf.value == {"fraction": "0.10", "statistic": "city_income"} and leaf.clause == "五(三)"
    assert leaf.label == "医疗救助 · 三类人员住院及门诊慢特病救助 · 救助起付标准"


def test_cangzhou_fixed_2022_amounts_are_data():
    cz = seed_doc("130900")
    assert get_parameter(cz, "assistance.routes[1].deductible_fixed") == {"2022": "2700.00"}
    assert get_parameter(cz, "assistance.routes[2].deductible_fixed") == {"2022": "6700.00"}
    assert get_parameter(cz, "assistance.routes[3].deductible") is None


def test_set_parameter_returns_a_new_document_and_keeps_the_clause():
    doc = seed_doc("360700")
    before = copy.deepcopy(doc)
    new = set_parameter(doc, "assistance.routes[2].ratio", "0.80")
    assert doc == before
    assert get_parameter(new, "assistance.routes[2].ratio") == "0.80"
    node = new["parameters"]["assistance"]["routes"][2]["ratio"]
    assert node == {"value": "0.80", "clause": "五(三)"}
    assert validate_document(new) == []
    new = set_parameter(new, "critical.deductible", {"fraction": "0.50", "statistic": "city_income"})
    assert validate_document(new) == []


@pytest.mark.parametrize("path", ["assistance.routes[9].ratio", "assistance.routes[0]", "assistance", "nope",
                                  "assistance.routes[0].ratio.value", "assistance..routes", ""])
def test_bad_paths(path):
    with pytest.raises(KeyError):
        set_parameter(seed_doc("360700"), path, "1")
    with pytest.raises(KeyError):
        get_parameter(seed_doc("360700"), path)


@pytest.mark.parametrize("path,value,message", [
    ("assistance.routes[2].ratio", "1.5", "assistance.routes[2].ratio: must be between 0 and 1"),
    ("assistance.routes[2].ratio", "0.1234567", "assistance.routes[2].ratio: at most 6 decimals"),
    ("assistance.routes[2].ratio", "abc", "assistance.routes[2].ratio: must be a ratio"),
    ("assistance.routes[2].cap", "-5", "assistance.routes[2].cap: must not be below 0"),
    ("assistance.routes[2].cap", "12.345", "assistance.routes[2].cap: at most 2 decimals"),
    ("assistance.routes[2].deductible", {"fraction": "0.1"}, "assistance.routes[2].deductible: a fraction of a "
                                                             "statistic needs both"),
    ("assistance.routes[2].deductible", "lots", "assistance.routes[2].deductible: must be \"none\", a money amount"),
    ("assistance.routes[2].kinds", ["inpatient", "dental"], "assistance.routes[2].kinds: unknown claim kind 'dental'"),
    ("assistance.routes[2].kinds", [], "assistance.routes[2].kinds: must not be empty"),
    ("assistance.routes[2].categories", ["dibao", "dibao"], "assistance.routes[2].categories: lists an entry twice"),
    ("assistance.routes[2].categories", ["tuopin"], "assistance.routes[2].categories: tuopin is not one of "
                                                    "categories.recipients"),
    ("assistance.routes[2].pool", "In Patient", "assistance.routes[2].pool: must be a lower-case name"),
    ("tilted.scope", "county", "tilted.scope: must be one of province, city"),
    ("tilted.on_application", "yes", "tilted.on_application: must be true or false"),
    ("tilted.lookback_months", 30, "tilted.lookback_months: must be between 0 and 12"),
    ("critical.segments", [{"up_to": "50000.00", "ratio": "0.6"}, {"up_to": "40000.00", "ratio": "0.7"}],
     "critical.segments: segment 1: upper bounds must increase"),
    ("critical.segments", [{"up_to": "none", "ratio": "0.6"}, {"up_to": "40000.00", "ratio": "0.7"}],
     "critical.segments: segment 0: only the last segment may have no upper bound"),
    ("critical.segments", [{"up_to": "none", "ratio": "0.98"}],
     "critical.preferential.ratio_add: a segment ratio plus the increase exceeds 1"),
    ("categories.precedence", ["tekun", "tuopin"], "categories.precedence: tuopin is not one of categories.recipients"),
    ("statistics.years_back", [2, 1], "statistics.years_back: must be increasing without repeats"),
    ("monitoring.return_to_poverty.threshold", {"fraction": "0.5", "statistic": "Income"},
     "monitoring.return_to_poverty.threshold: statistic must be a statistic code"),
])
def test_validation_messages(path, value, message):
    errors = validate_document(set_parameter(seed_doc("360700"), path, value))
    assert any(e.startswith(message) for e in errors), errors


def test_floor_from_the_document_itself():
    doc = set_parameter(seed_doc("341721"), "assistance.routes[0].ratio", "0.65")
    assert validate_document(doc) == ["assistance.routes[0].ratio: 0.65 is below the ratio floor 0.70 (二(五))"]
    assert validate_document(set_parameter(doc, "assistance.routes[0].ratio", "0.70")) == []
    doc = set_parameter(seed_doc("341721"), "critical.segments", [{"up_to": "none", "ratio": "0.55"}])
    assert validate_document(doc) == ["critical.segments: segment 0 ratio 0.55 is below the floor 0.60 (三(三)2)"]


def test_structural_problems():
    doc = seed_doc("360700")
    route = doc["parameters"]["assistance"]["routes"][0]
    route["foo"] = {"value": 1, "clause": None}
    route["ratio"] = "1.00"
    del route["cap"]
    route["pool"]["extra"] = True
    doc["in_force_to"] = "2021-01-01"
    doc["in_force_from"] = "2022-13-01"
    doc["region"] = "3607"
    doc["bogus"] = 1
    errors = validate_document(doc)
    for expected in ["assistance.routes[0].foo: unknown parameter",
                     "assistance.routes[0].ratio: must be a parameter",
                     "assistance.routes[0].cap: missing (use {\"value\": null} for unset)",
                     "assistance.routes[0].pool: unknown key 'extra'",
                     "in_force_from: not a date (expected YYYY-MM-DD)",
                     "region: must be a 6-digit region code",
                     "bogus: unknown field"]:
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert validate_document("x") == ["document: must be a JSON object"]


def test_from_document_refuses_an_invalid_document():
    with pytest.raises(PolicyError) as err:
        PolicyVersion.from_document(set_parameter(seed_doc("360700"), "tilted.ratio", "2"))
    assert err.value.errors == ["360700 赣市府办字〔2022〕112号: tilted.ratio: must be between 0 and 1"]


# ------------------------------------------------------------------------------------ frameworks

def guangzhou_doc() -> dict:
    """A city document under 粤府办〔2022〕40号, built from 沧州's shape, which obeys the framework."""
    doc = seed_doc("130900")
    doc.update(region="440100", document="穗测试〔2023〕1号", title="测试", in_force_from="2023-01-01",
               retroactive_from=None)
    doc["parameters"]["categories"]["recipients"]["value"] += ["orphan"]
    doc["parameters"]["categories"]["precedence"]["value"] = ["tekun", "orphan", "dibao", "dibao_edge",
                                                              "illness_poverty", "jiance"]
    doc = set_parameter(doc, "assistance.routes[0].categories", ["tekun", "orphan", "dibao"])
    doc = set_parameter(doc, "critical.preferential.categories", ["tekun", "orphan", "dibao", "fanpin"])
    assert validate_document(doc) == []
    return doc


def test_city_document_obeying_the_framework():
    assert validate_against_framework(guangzhou_doc(), seed_doc("440000")) == []


def test_dibao_deductible_breaks_framework_clause_2_4():
    doc = set_parameter(guangzhou_doc(), "assistance.routes[0].deductible", "500.00")
    assert validate_against_framework(doc, seed_doc("440000")) == [
        "assistance.routes[0].deductible: 粤府办〔2022〕40号 二(四): tekun, orphan, dibao must have no deductible "
        "(不设年度救助起付标准)"]
    factory = book_of([doc], frameworks=[seed_doc("440000")])
    with pytest.raises(PolicyError) as err:
        run(payload("440100", [claim(date="2023-03-01")], [("dibao", "2020-01-01")]), factory)
    assert err.value.errors == ["440100 穗测试〔2023〕1号: assistance.routes[0].deductible: 粤府办〔2022〕40号 二(四): "
                                "tekun, orphan, dibao must have no deductible (不设年度救助起付标准)"]


def test_separate_outpatient_pool_breaks_framework_clause_2_5():
    doc = guangzhou_doc()
    routes = doc["parameters"]["assistance"]["routes"]
    outpatient = copy.deepcopy(routes[0])
    outpatient["kinds"]["value"] = ["outpatient_general"]
    outpatient["pool"]["value"] = "outpatient"
    routes[0]["kinds"]["value"] = ["inpatient", "outpatient_chronic"]
    routes.insert(1, outpatient)
    errors = validate_against_framework(doc, seed_doc("440000"))
    assert len(errors) == 1 and errors[0].startswith("assistance.routes[1].pool: 粤府办〔2022〕40号 二(五): outpatient "
                                                     "and inpatient share one annual cap")


def test_missing_preferential_category_breaks_framework_clause_3_8():
    doc = set_parameter(guangzhou_doc(), "critical.preferential.categories", ["tekun", "dibao"])
    assert validate_against_framework(doc, seed_doc("440000")) == [
        "critical.preferential.categories: 粤府办〔2022〕40号 三(八): orphan must receive the critical-illness "
        "preferential treatment (倾斜支付)"]


def test_unset_deductible_inherits_the_frameworks_none():
    doc = set_parameter(guangzhou_doc(), "assistance.routes[0].deductible", None)
    assert validate_against_framework(doc, seed_doc("440000")) == []
    factory = book_of([doc], frameworks=[seed_doc("440000")])
    out = run(payload("440100", [claim(date="2023-03-01")], [("dibao", "2020-01-01")], statistics=STATS), factory)
    assert out["claims"][0]["assistance"] == "3500.00"          # 5 000 × 0.70, no deductible
