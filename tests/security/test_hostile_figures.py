"""Figures a policy administrator types in — a region's budget, its contribution standard, a
statistic, and every amount or ratio of the policy editor — take plain decimals only (issue 13):
``1e10``, ``1_000`` and other scripts' digits never become money; each is refused naming the field."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOT_MONEY = ["1e10", "1E+3", "1_000", "١٠٠٠", "۱۰۰۰", "१०००", "Infinity", "NaN", "0x10", "1e-2"]


@pytest.fixture
def admin():
    return make_user("policy_admin", region="360700")


@pytest.mark.parametrize("text", NOT_MONEY)
def test_budget_refuses_text_that_is_not_money(admin, text):
    from cases.exchange.errors import Invalid
    from cases.reporting.models import AssistanceBudget
    from cases.reporting.services import set_budget

    with pytest.raises(Invalid) as refused:
        set_budget(acting_user=admin, region_code="360700", year=2024, amount=text)
    assert refused.value.field == "amount"
    assert not AssistanceBudget.objects.exists()


def test_budget_takes_thousands_separators(admin):
    from cases.reporting.services import set_budget

    assert set_budget(acting_user=admin, region_code="360700", year=2024, amount="1,234,567.80").amount == \
        Decimal("1234567.80")


@pytest.mark.parametrize("year", ["1e3", "", "99999999999999999999999", "2024.5"])
def test_budget_year_must_be_a_year(admin, year):
    from cases.exchange.errors import Invalid
    from cases.reporting.services import set_budget

    with pytest.raises(Invalid) as refused:
        set_budget(acting_user=admin, region_code="360700", year=year, amount="100.00")
    assert refused.value.field == "year"


@pytest.mark.parametrize("text", NOT_MONEY)
def test_contribution_standard_refuses_text_that_is_not_money(admin, text):
    from cases.enrolment.models import ContributionStandard
    from cases.enrolment.services import set_contribution_standard
    from cases.exchange.errors import Invalid

    with pytest.raises(Invalid) as refused:
        set_contribution_standard(acting_user=admin, region_code="360700", year=2024, tier1_personal=text)
    assert refused.value.field == "tier1_personal"
    assert not ContributionStandard.objects.exists()


@pytest.mark.parametrize("text", NOT_MONEY)
def test_statistic_refuses_text_that_is_not_money(admin, text):
    from policies.models import Statistic
    from policies.services import ChangeRefused, set_statistic

    before = Statistic.objects.count()
    with pytest.raises(ChangeRefused) as refused:
        set_statistic(acting_user=admin, region="360700", kind="city_income", year=2024, value=text, source="test")
    assert refused.value.field == "value"
    assert Statistic.objects.count() == before


@pytest.mark.parametrize("kind", ["amount", "ratio", "decimal", "amount_or_none"])
@pytest.mark.parametrize("text", NOT_MONEY)
def test_policy_editor_numbers_are_plain_decimals(kind, text):
    from policies import display

    with pytest.raises(ValueError):
        display.parse(text, kind)


def test_policy_editor_still_reads_what_admins_type():
    from policies import display

    assert display.parse("1,500 元", "amount") == "1500.00"
    assert display.parse("75%", "ratio") == "0.75"
    assert display.parse("0.6", "ratio") == "0.60"
