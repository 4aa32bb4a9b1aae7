"""What a policy admin types into the parameter editor, and how values read back."""
import pytest

from policies import display


@pytest.mark.parametrize("path,typed,stored", [
    ("assistance.routes[0].ratio", "75%", "0.75"),
    ("assistance.routes[0].ratio", "0.7", "0.70"),
    ("assistance.routes[0].ratio", "66.5%", "0.665"),
    ("assistance.routes[0].cap", "50,000", "50000.00"),
    ("assistance.routes[0].cap", "不设", "none"),
    ("assistance.routes[0].cap", "", None),
    ("assistance.routes[0].deductible", "10% × city_income", {"fraction": "0.10", "statistic": "city_income"}),
    ("assistance.routes[0].deductible", "2700", "2700.00"),
    ("assistance.routes[0].deductible", "none", "none"),
    ("assistance.routes[0].deductible_fixed", "2022: 2700; 2023：2800.50", {"2022": "2700.00", "2023": "2800.50"}),
    ("categories.precedence", "tekun > 低保对象 > dibao_edge", ["tekun", "dibao", "dibao_edge"]),
    ("assistance.routes[0].kinds", "住院、门诊特殊慢性病", ["inpatient", "outpatient_chronic"]),
    ("basic.rules[0].hospital_levels", "二级, 3", [2, 3]),
    ("tilted.on_application", "是", True),
    ("tilted.scope", "市内", "city"),
    ("tilted.lookback_months", "3", 3),
    ("critical.segments", "50000: 60%; 以上: 70%", [{"up_to": "50000.00", "ratio": "0.60"}, {"up_to": "none", "ratio": "0.70"}]),
    ("statistics.years_back", "1, 2", [1, 2]),
])
def test_typed_values_become_document_values(path, typed, stored):
    assert display.parse(typed, display.kind_of(path), display.choices_of(path)) == stored


@pytest.mark.parametrize("path,typed,reason", [
    ("assistance.routes[0].ratio", "seventy", "不是"),
    ("assistance.routes[0].cap", "12.345", "小数超过两位"),
    ("categories.recipients", "tekun, 富人", "无法识别“富人”"),
    ("tilted.on_application", "maybe", "是"),
    ("tilted.lookback_months", "3.5", "不是整数"),
])
def test_mistyped_values_say_why(path, typed, reason):
    with pytest.raises(ValueError) as exc:
        display.parse(typed, display.kind_of(path), display.choices_of(path))
    assert reason in str(exc.value)


@pytest.mark.parametrize("path,value,shown", [
    ("assistance.routes[0].ratio", "0.75", "75%"),
    ("assistance.routes[0].cap", "20000.00", "20,000.00 元"),
    ("assistance.routes[0].cap", "none", "不设"),
    ("assistance.routes[0].cap", None, "未设定"),
    ("assistance.routes[0].deductible", {"fraction": "0.25", "statistic": "city_income"}, "25% × 本地上年度城乡居民人均可支配收入"),
    ("categories.recipients", ["tekun", "dibao"], "特困人员、低保对象"),
    ("tilted.on_application", False, "否"),
])
def test_values_read_as_people_write_them(path, value, shown):
    assert display.show(value, display.kind_of(path)) == shown


@pytest.mark.parametrize("path,value", [
    ("assistance.routes[0].ratio", "0.67"),
    ("assistance.routes[0].deductible", {"fraction": "0.10", "statistic": "city_income"}),
    ("assistance.routes[0].deductible_fixed", {"2022": "2700.00"}),
    ("categories.precedence", ["tekun", "dibao"]),
    ("critical.segments", [{"up_to": "none", "ratio": "0.60"}]),
    ("basic.rules[0].hospital_levels", [1]),
])
def test_what_the_editor_shows_reads_back_unchanged(path, value):
    kind = display.kind_of(path)
    assert display.same(display.parse(display.as_input(value, kind), kind, display.choices_of(path)), value)
