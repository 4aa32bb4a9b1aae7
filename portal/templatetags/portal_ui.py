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


@register.simple_tag(takes_context=True)
def sort_th(context, key: str, css: str = ""):
    """A sortable column header of a ``portal.lists.Listing`` (``listing`` in the context): a link
    that sorts by the column, and again the other way; the current sort shows ▲ or ▼."""
    from django.utils.html import format_html

    listing = context["listing"]
    column = listing.sorting.columns[key]
    current = listing.sort == key
    descending = current and listing.descending
    url = listing.url(sort=key if not current or descending else f"-{key}")
    arrow = ("▼" if descending else "▲") if current else ""
    aria = ("descending" if descending else "ascending") if current else "none"
    return format_html('<th class="{}" aria-sort="{}"><a class="sort-link" href="{}" data-sort="{}">{}</a>{}</th>',
                       css, aria, url, key, column.label, arrow)
