"""The slip's amount in words (人民币大写), checked against amounts written out by hand."""
import pytest

from cases.templatetags.cases_ui import rmb_upper

WRITTEN_OUT = [
    ("9000.00", "玖仟元整"),
    ("4480.50", "肆仟肆佰捌拾元伍角"),
    ("10001.01", "壹万零壹元零壹分"),
    ("24675.00", "贰万肆仟陆佰柒拾伍元整"),
    ("100500.00", "壹拾万零伍佰元整"),
    ("1010.00", "壹仟零壹拾元整"),
    ("100.10", "壹佰元壹角"),
    ("0.05", "伍分"),
    ("0.00", "零元整"),
    ("20000000.05", "贰仟万元零伍分"),
    ("100000000.00", "壹亿元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("-3375.00", "负叁仟叁佰柒拾伍元整"),
]


@pytest.mark.parametrize("amount, words", WRITTEN_OUT)
def test_amount_in_words(amount, words):
    assert rmb_upper(amount) == words


def test_nothing_for_what_is_not_an_amount():
    assert rmb_upper(None) == ""
    assert rmb_upper("abc") == ""
