"""Template helpers of every part: money as people read it (one filter for the whole portal)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")


def to_cents(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@register.filter
def money(value) -> str:
    """``Decimal("24675")`` → ``24,675.00``; empty or not a number → ``—``."""
    amount = to_cents(value)
    if amount is None:
        return "—"
    return f"{amount:,.2f}"
