"""The checks of a figure a policy administrator types in for a region and year (budgets,
contribution standards): the year, and an amount that is money by ``portal.numbers.money``'s rule
(plain ASCII decimals to the fen — never ``1e10``, ``1_000`` or other scripts' digits)."""
from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.numbers import ValueProblem, money

from ..errors import Invalid


def checked_year(value) -> int:
    """A year between 2000 and next year, else ``Invalid`` on the field ``year``."""
    try:
        year = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid(_("Year: enter a year such as 2024."), field="year") from None
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Invalid(_("Year: between 2000 and next year."), field="year")
    return year


def checked_amount(value, *, field: str, label: str, required: bool = True) -> Decimal | None:
    """An amount in yuan (≥ 0, at most two decimals), else ``Invalid`` naming ``label`` and ``field``."""
    try:
        return money(value, required=required)
    except ValueProblem as problem:
        raise Invalid(_("%(label)s: %(problem)s.") % {"label": label, "problem": problem}, field=field) from None
