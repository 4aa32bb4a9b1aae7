"""What a caseworker reads when the engine refuses: every problem code has a Chinese template, and
the Chinese never carries the engine's English, a code or a raw path (policies/messages.py)."""
from __future__ import annotations

import re

import pytest

from policies import messages
from policies.engine import EngineError, InputError, Problem, parse_input, settle, static_book_from_seed
from policies.engine.codes import ALL_CODES, Code
from policies.engine.errors import problem
from tests.policies.engine.engine_support import claim, payload, seed_doc

ASCII_WORD = re.compile(r"[A-Za-z_]+")
POLICY = "360700 赣市府办字〔2022〕112号"
KNOWN_REGION_CODE = re.compile(r"(?<!\d)(360700|130900|440100)(?!\d)")

# One problem of every code, with the params the engine gives it.
SAMPLES: dict[Code, Problem] = {
    Code.INPUT_NOT_OBJECT: problem(Code.INPUT_NOT_OBJECT, "claims[1]", "must be an object"),
    Code.INPUT_NOT_LIST: problem(Code.INPUT_NOT_LIST, "person.identities", "must be a list"),
    Code.INPUT_REQUIRED: problem(Code.INPUT_REQUIRED, "claims[0].policy_scope", "required"),
    Code.INPUT_UNKNOWN_FIELD: problem(Code.INPUT_UNKNOWN_FIELD, "claims[0].备注", "unknown field"),
    Code.INPUT_NOT_DATE: problem(Code.INPUT_NOT_DATE, "claims[0].date", "not a date (expected YYYY-MM-DD)"),
    Code.INPUT_NOT_MONEY: problem(Code.INPUT_NOT_MONEY, "claims[0].total", "not a money amount"),
    Code.INPUT_NEGATIVE: problem(Code.INPUT_NEGATIVE, "claims[0].basic_paid", "must not be negative"),
    Code.INPUT_TOO_MANY_DECIMALS: problem(Code.INPUT_TOO_MANY_DECIMALS, "claims[0].total", "at most two decimals",
                                          places=2),
    Code.INPUT_NOT_BOOL: problem(Code.INPUT_NOT_BOOL, "tilted_applied", "must be true or false"),
    Code.INPUT_UNKNOWN_VALUE: problem(Code.INPUT_UNKNOWN_VALUE, "claims[0].kind", "unknown kind '门诊' (expected one "
                                      "of inpatient, outpatient_general, outpatient_chronic)", field="kind",
                                      value="门诊", choices=["inpatient", "outpatient_general", "outpatient_chronic"]),
    Code.INPUT_UNKNOWN_CATEGORY: problem(Code.INPUT_UNKNOWN_CATEGORY, "person.identities[0].category",
                                         "unknown category", value="散居", region="360700"),
    Code.INPUT_NOT_REGION: problem(Code.INPUT_NOT_REGION, "region", "'3607' is not a 6-digit GB/T 2260 code",
                                   value="3607"),
    Code.INPUT_END_BEFORE_START: problem(Code.INPUT_END_BEFORE_START, "person.identities[0].end",
                                         "2022-01-01 is before start 2023-01-01", end="2022-01-01", start="2023-01-01"),
    Code.INPUT_DUPLICATE_ID: problem(Code.INPUT_DUPLICATE_ID, "claims[1].id", "duplicate id '1' (also claims[0])",
                                     id="1", other=0),
    Code.INPUT_SCOPE_ABOVE_TOTAL: problem(Code.INPUT_SCOPE_ABOVE_TOTAL, "claims[0].policy_scope",
                                          "48000.00 exceeds total 45000.00", amount="48000.00", total="45000.00"),
    Code.INPUT_PAID_ABOVE_SCOPE: problem(Code.INPUT_PAID_ABOVE_SCOPE, "claims[0].basic_paid",
                                         "9.00 exceeds policy_scope 8.00", amount="9.00", scope="8.00"),
    Code.INPUT_PAID_SUM_ABOVE_SCOPE: problem(Code.INPUT_PAID_SUM_ABOVE_SCOPE, "claims[0]",
                                             "basic_paid + critical_paid (9.00) exceeds policy_scope 8.00",
                                             amount="9.00", scope="8.00", computed=True),
    Code.INPUT_NOT_STATISTIC: problem(Code.INPUT_NOT_STATISTIC, "statistics.收入", "not a statistic code",
                                      value="收入"),
    Code.INPUT_NOT_YEAR: problem(Code.INPUT_NOT_YEAR, "statistics.city_income.22", "not a year", value="22"),
    Code.BASIC_PAID_NEEDED: problem(Code.BASIC_PAID_NEEDED, "claims[0].basic_paid", "gives no basic_paid",
                                    policy=POLICY, claim="c17", date="2023-05-01", scheme="resident",
                                    kind="inpatient", level=2),
    Code.CRITICAL_PAID_NEEDED: problem(Code.CRITICAL_PAID_NEEDED, "claims[0].critical_paid", "gives no critical_paid",
                                       policy=POLICY, claim="c17", date="2023-05-01", scheme="employee"),
    Code.NO_POLICY: problem(Code.NO_POLICY, None, "449901: no policy documents", region="449901"),
    Code.NO_VERSION: problem(Code.NO_VERSION, "claims[0].date", "no policy version in force", region="360700",
                             date="2019-01-01", claim="c17"),
    Code.UNSET: problem(Code.UNSET, "assistance.routes[2].ratio", "unset", policy=POLICY, clause="五(三)",
                        category="dibao", level=3, among=["dibao", "tekun"]),
    Code.CATEGORY_UNSET: problem(Code.CATEGORY_UNSET, "categories.unset[0].category", "left to another rule",
                                 policy=POLICY, category="tuopin", clause="二(一)"),
    Code.PRECEDENCE_UNRANKED: problem(Code.PRECEDENCE_UNRANKED, "categories.precedence", "does not rank",
                                      policy=POLICY, categories=["jiance"], among=["jiance", "dibao"]),
    Code.STATISTIC_MISSING: problem(Code.STATISTIC_MISSING, "assistance.routes[0].deductible", "statistic missing",
                                    policy=POLICY, statistic="city_income", region="360700", years=[2022, 2021],
                                    year=2023, clause="五(二)", category="dibao_edge"),
    Code.ANNOUNCED_MISSING: problem(Code.ANNOUNCED_MISSING, "assistance.routes[1].deductible", "announced missing",
                                    policy="130900 沧政办规〔2022〕7号", name="annual_deductible_dibao_edge",
                                    region="130900", year=2023, clause="二(三)", category="dibao_edge"),
    Code.RATIO_BELOW_FLOOR: problem(Code.RATIO_BELOW_FLOOR, "framework_rules.assistance_ratio_floors",
                                    "below the floor", policy=POLICY, ratio="0.65", floor="0.70",
                                    route="assistance.routes[0]", clause="二(五)"),
    Code.INVALID_DOCUMENT: problem(Code.INVALID_DOCUMENT, None, "document invalid", policy=POLICY,
                                   problem=problem(Code.INPUT_NEGATIVE, "claims[0].total", "negative").as_dict()),
    Code.UNKNOWN_REGION: problem(Code.UNKNOWN_REGION, "region", "is not a region known", region="449999"),
    Code.VERSION_NOT_FOUND: problem(Code.VERSION_NOT_FOUND, "version", "no policy version 12", version=12),
    Code.VERSION_NOT_APPLICABLE: problem(Code.VERSION_NOT_APPLICABLE, "version", "does not apply",
                                         document="沧政办规〔2022〕7号", version_region="130900", region="360700"),
    Code.PERIODS_CONFLICT: problem(Code.PERIODS_CONFLICT, None, "periods", document="赣市府办字〔2022〕112号",
                                   message="2023-01-01 落在其他版本的追溯期内"),
    # --- a policy document's own mistakes (schema.document_problems) ---
    Code.DOC_NOT_OBJECT: problem(Code.DOC_NOT_OBJECT, None, "document: must be a JSON object"),
    Code.DOC_UNKNOWN_FIELD: problem(Code.DOC_UNKNOWN_FIELD, None, "备注: unknown field", key="备注"),
    Code.DOC_NOT_REGION: problem(Code.DOC_NOT_REGION, "inherits", "must be the 6-digit code", value="3607",
                                 inherits=True),
    Code.DOC_REQUIRED: problem(Code.DOC_REQUIRED, "title", "required text", what="text"),
    Code.DOC_NOT_BOOL: problem(Code.DOC_NOT_BOOL, "framework", "must be true or false"),
    Code.DOC_NOT_DATE: problem(Code.DOC_NOT_DATE, "in_force_from", "not a date (expected YYYY-MM-DD)"),
    Code.DOC_END_BEFORE_START: problem(Code.DOC_END_BEFORE_START, "in_force_to", "2022-01-01 is before in_force_from",
                                       end="2022-01-01", start="2022-10-01"),
    Code.DOC_RETRO_AFTER_START: problem(Code.DOC_RETRO_AFTER_START, "retroactive_from", "is after in_force_from",
                                        retroactive="2023-01-01", start="2022-10-01"),
    Code.DOC_NOT_PARAMETER: problem(Code.DOC_NOT_PARAMETER, "tilted.ratio", "must be a parameter"),
    Code.DOC_PARAMETER_KEY: problem(Code.DOC_PARAMETER_KEY, "tilted.ratio", "unknown key", key="说明"),
    Code.DOC_NOT_TEXT: problem(Code.DOC_NOT_TEXT, "assistance.routes[0].ratio.clause", "must be a string or null"),
    Code.DOC_NOT_LIST: problem(Code.DOC_NOT_LIST, "assistance.routes", "must be a list"),
    Code.DOC_UNKNOWN_PARAMETER: problem(Code.DOC_UNKNOWN_PARAMETER, "assistance.routes[0].比例", "unknown parameter",
                                        key="比例"),
    Code.DOC_MISSING: problem(Code.DOC_MISSING, "assistance.routes[1].cap", "missing"),
    Code.DOC_NOT_NUMBER: problem(Code.DOC_NOT_NUMBER, "assistance.routes[0].cap", "must be a money amount, or none",
                                 what="amount", or_none=True),
    Code.DOC_BELOW_MIN: problem(Code.DOC_BELOW_MIN, "assistance.routes[0].deductible", "must not be below 0",
                                lo="0", within=[["level", 2]]),
    Code.DOC_OUT_OF_RANGE: problem(Code.DOC_OUT_OF_RANGE, "assistance.routes[3].segments",
                                   "segment 1 ratio: must be between 0 and 1", lo="0", hi="1",
                                   within=[["segment", 1], ["part", "ratio"]]),
    Code.DOC_TOO_MANY_DECIMALS: problem(Code.DOC_TOO_MANY_DECIMALS, "assistance.routes[0].deductible_fixed",
                                        "2022: at most 2 decimals", places=2, within=[["year", 2022]]),
    Code.DOC_NOT_QUANTITY: problem(Code.DOC_NOT_QUANTITY, "tilted.threshold", "must be none, an amount, or ..."),
    Code.DOC_BAD_SHAPE: problem(Code.DOC_BAD_SHAPE, "assistance.routes[0].ratio_adjustments", "adjustment 0: ...",
                                shape="adjustment", within=[["adjustment", 0]]),
    Code.DOC_NOT_LEVEL: problem(Code.DOC_NOT_LEVEL, "assistance.routes[0].min_hospital_level", "must be a level",
                                value="四", or_none=True),
    Code.DOC_NOT_LOCATION: problem(Code.DOC_NOT_LOCATION, "assistance.routes[0].ratio_adjustments", "location",
                                   value="本地", within=[["adjustment", 1]]),
    Code.DOC_UNKNOWN_KEY: problem(Code.DOC_UNKNOWN_KEY, "tilted.threshold", "unknown key", key="比例",
                                  shape="fraction"),
    Code.DOC_NOT_CODE: problem(Code.DOC_NOT_CODE, "assistance.routes[0].pool", "must be a lower-case name",
                               what="name", value="住院"),
    Code.DOC_NOT_INT: problem(Code.DOC_NOT_INT, "tilted.lookback_months", "must be a whole number"),
    Code.DOC_NOT_CHOICE: problem(Code.DOC_NOT_CHOICE, "tilted.basis", "must be one of annual, per_stay",
                                 value="每月", choices=["annual", "per_stay"]),
    Code.DOC_UNKNOWN_ENTRY: problem(Code.DOC_UNKNOWN_ENTRY, "assistance.routes[0].kinds", "unknown claim kind",
                                    what="claim kinds", value="门诊"),
    Code.DOC_DUPLICATE_ENTRY: problem(Code.DOC_DUPLICATE_ENTRY, "categories.recipients", "lists an entry twice"),
    Code.DOC_EMPTY: problem(Code.DOC_EMPTY, "assistance.routes[0].kinds", "must not be empty"),
    Code.DOC_NOT_YEAR: problem(Code.DOC_NOT_YEAR, "assistance.routes[0].deductible_fixed", "is not a year",
                               value="二〇二二"),
    Code.DOC_NOT_INCREASING: problem(Code.DOC_NOT_INCREASING, "critical.segments", "upper bounds must increase",
                                     within=[["segment", 2]]),
    Code.DOC_UNBOUNDED_NOT_LAST: problem(Code.DOC_UNBOUNDED_NOT_LAST, "critical.segments", "only the last",
                                         within=[["segment", 0]]),
    Code.DOC_NATIONAL_CATEGORY: problem(Code.DOC_NATIONAL_CATEGORY, "categories.regional[0].name",
                                        "dibao is already a national category", value="dibao"),
    Code.DOC_DEFINED_TWICE: problem(Code.DOC_DEFINED_TWICE, "categories.regional[1].name", "is defined twice",
                                    value="de_facto_orphan", label="事实无人抚养儿童"),
    Code.DOC_UNKNOWN_CATEGORY: problem(Code.DOC_UNKNOWN_CATEGORY, "assistance.routes[0].categories",
                                       "unknown category", value="孤老"),
    Code.DOC_NOT_RECIPIENT: problem(Code.DOC_NOT_RECIPIENT, "categories.precedence", "is not one of",
                                    category="tekun"),
    Code.DOC_BELOW_FLOOR: problem(Code.DOC_BELOW_FLOOR, "assistance.routes[0].ratio", "0.65 is below the ratio floor",
                                  value="0.65", floor="0.70", clause="二(五)", what="ratio"),
    Code.DOC_RATIO_MISSING: problem(Code.DOC_RATIO_MISSING, "assistance.routes[0].ratio", "missing"),
    Code.DOC_RATIO_AND_SEGMENTS: problem(Code.DOC_RATIO_AND_SEGMENTS, "assistance.routes[0].segments", "not both"),
    Code.DOC_ABOVE_ONE_WITH_INCREASE: problem(Code.DOC_ABOVE_ONE_WITH_INCREASE, "critical.preferential.ratio_add",
                                              "exceeds 1"),
    Code.DOC_ENTRY_NEEDS_NAME: problem(Code.DOC_ENTRY_NEEDS_NAME, "assistance.routes", "every entry needs a name"),
    Code.FRAMEWORK_NO_DEDUCTIBLE: problem(Code.FRAMEWORK_NO_DEDUCTIBLE, "assistance.routes[0].deductible", "deductible",
                                          framework="粤府办〔2022〕40号", clause="二(四)",
                                          categories=["tekun", "orphan", "dibao"], policy="440100 穗医保〔2023〕1号"),
    Code.FRAMEWORK_SHARED_CAP: problem(Code.FRAMEWORK_SHARED_CAP, "assistance.routes[1].pool", "pool",
                                       framework="粤府办〔2022〕40号", clause="二(五)", category="dibao", what="pool",
                                       first=0, other=1),
    Code.FRAMEWORK_RATIO_FLOOR: problem(Code.FRAMEWORK_RATIO_FLOOR, "assistance.routes[0].ratio", "floor",
                                        framework="粤府办〔2022〕40号", clause="二(五)", categories=["dibao"],
                                        floor="0.70", ratio="0.65"),
    Code.FRAMEWORK_PREFERENTIAL: problem(Code.FRAMEWORK_PREFERENTIAL, "critical.preferential.categories", "pref",
                                         framework="粤府办〔2022〕40号", clause="三(八)", categories=["tekun"]),
    Code.CASE_NO_CLAIMS: problem(Code.CASE_NO_CLAIMS, None, "The person has no claims in 2023.", year=2023),
    Code.CASE_TOO_LARGE: problem(Code.CASE_TOO_LARGE, None, "too large"),
    Code.CASE_PERSON_UNVERIFIED: problem(Code.CASE_PERSON_UNVERIFIED, "person", "person scheme to be verified",
                                         details=["residence", "scheme"]),
    Code.LEGACY: Problem(Code.LEGACY, {}, None, "claims[0]: basic_paid + critical_paid exceeds policy_scope"),
}


def english_leaks(text: str, p: Problem) -> list[str]:
    """ASCII words in a rendered problem (any: the samples' own values are not ASCII words), and
    the code or the path spelt out."""
    found = ASCII_WORD.findall(text)
    if str(p.code) in text:
        found.append(str(p.code))
    if p.path and p.path in text:
        found.append(p.path)
    return found


def test_every_code_is_listed_once_and_has_a_sample_and_a_template():
    assert len({str(c) for c in ALL_CODES}) == len(ALL_CODES)
    assert set(SAMPLES) == set(ALL_CODES)
    assert set(messages.TEMPLATES) == set(ALL_CODES)


@pytest.mark.parametrize("code", ALL_CODES, ids=str)
def test_every_code_renders_in_chinese_words(code):
    p = SAMPLES[code]
    text = messages.render(p, language="zh-hans")
    assert english_leaks(text, p) == [], text
    assert re.search(r"[\u4e00-\u9fff]", text), text
    # a region the portal knows is named by its name (赣州市), never by its code
    assert not KNOWN_REGION_CODE.search(text), text
    # the English sentence is still there for logs, and for an English reader
    assert messages.render(p, language="en") == p.text


def test_a_stored_problem_renders_like_the_problem():
    p = SAMPLES[Code.STATISTIC_MISSING]
    assert messages.render(p.as_dict(), language="zh-hans") == messages.render(p, language="zh-hans")


def test_path_labels_are_chinese_words():
    assert messages.path_label("assistance.routes[2].ratio") == "医疗救助 第3条救助路径 的 救助比例"
    assert messages.path_label("claims[0].basic_paid", policy=False) == "第 1 笔费用的基本医保支付"


def test_missing_basic_paid_without_a_basic_rule_says_to_enter_it_from_the_settlement_statement():
    """巴南's document has no basic-insurance rule: a claim without basic_paid is refused, and the
    caseworker is told, in Chinese, to enter 基本医保支付 from the hospital's settlement statement."""
    inp = parse_input(payload("500113", [claim("c9", basic=None, date="2023-06-02")],
                              identities=[("dibao", "2020-01-01")]))
    with pytest.raises(EngineError) as err:
        settle(inp, static_book_from_seed("500113"))
    [p] = err.value.problems
    assert p.code == Code.BASIC_PAID_NEEDED
    assert p.path == "claims[0].basic_paid"
    text = messages.render(p, language="zh-hans")
    assert "请按医院结算单录入“基本医保支付”金额" in text
    assert text.startswith("第 1 笔费用（2023-06-02）")
    assert english_leaks(text, p) == []


def test_bad_input_is_refused_field_by_field_in_chinese():
    bad = payload("360700", [claim("1", total="-5.00", scope="abc", kind="门诊"), claim("1", date="2023-13-01")])
    with pytest.raises(InputError) as err:
        parse_input(bad)
    rendered = [messages.render(p, language="zh-hans") for p in err.value.problems]
    codes = {p.code for p in err.value.problems}
    assert {Code.INPUT_NEGATIVE, Code.INPUT_NOT_MONEY, Code.INPUT_UNKNOWN_VALUE, Code.INPUT_NOT_DATE,
            Code.INPUT_DUPLICATE_ID} <= codes
    assert "第 1 笔费用的医疗总费用：不能为负数" in rendered or any("不能为负数" in r for r in rendered)
    for p, text in zip(err.value.problems, rendered):
        assert english_leaks(text, p) == [], text
    kind = next(t for p, t in zip(err.value.problems, rendered) if p.code == Code.INPUT_UNKNOWN_VALUE)
    assert "住院、普通门诊、门诊特殊慢性病" in kind


def test_an_unset_parameter_names_it_in_words_with_its_clause():
    inp = parse_input(payload("130900", [claim("c1", basic=None)], identities=[("dibao", "2020-01-01")]))
    with pytest.raises(EngineError) as err:
        settle(inp, static_book_from_seed("130900"))
    [p] = err.value.problems
    assert p.code == Code.UNSET
    text = messages.render(p, language="zh-hans")
    assert text.startswith("沧州市 沧政办规〔2022〕7号：基本医保 第1条支付规则 的 ")
    assert "（三(二)）尚未设定" in text
    assert english_leaks(text, p) == []


# --- a policy document's own mistakes, as the import, the editor and the policy pages show them ---

def _document_problem(path, value):
    from policies.engine import document_problems

    doc = seed_doc("360700")
    route = doc["parameters"]["assistance"]["routes"][0]
    route.pop("ratio", None)
    route[path.rsplit(".", 1)[-1]] = {"value": value, "clause": "五(三)"}
    [p] = document_problems(doc)
    return p


def test_a_document_problem_names_the_parameter_and_the_part_in_the_editors_words():
    """``assistance.routes[0].segments: segment 1 ratio: must be between 0 and 1`` in Chinese: the
    route, the segment and the part in words, never the JSON path; English keeps the path."""
    p = _document_problem("assistance.routes[0].segments",
                          [{"up_to": "20000.00", "ratio": "0.75"}, {"up_to": "none", "ratio": "1.2"}])
    assert p.code == Code.DOC_OUT_OF_RANGE and p.params["within"] == [["segment", 1], ["part", "ratio"]]
    text = messages.render(p, language="zh-hans")
    assert text == "医疗救助 第1条救助路径 的 分段救助比例（按年度累计救助范围费用） 的 第2段 的 比例：应在 0 至 1 之间", text
    assert messages.render(p, language="en") == ("assistance.routes[0].segments: segment 1 ratio: "
                                                  "must be between 0 and 1")


def test_an_invalid_version_names_the_inner_problem_in_words():
    from policies.engine import EngineError, PolicyVersion, set_parameter

    doc = set_parameter(seed_doc("360700"), "tilted.ratio", "1.5")
    with pytest.raises(EngineError) as err:
        PolicyVersion.from_document(doc)
    [p] = err.value.problems
    assert p.code == Code.INVALID_DOCUMENT
    text = messages.render(p, language="zh-hans")
    assert "倾斜救助 的 救助比例：应在 0 至 1 之间" in text and "赣州市" in text, text
    assert english_leaks(text, p) == [], text


def test_the_regex_table_is_gone():
    assert not hasattr(messages, "explain") and not hasattr(messages, "REASONS")
