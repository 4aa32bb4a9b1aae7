"""What counts as a number where money is typed or uploaded: plain decimals in ASCII digits.

``Decimal()`` and ``float()`` also take ``1e10``, ``1E+30``, ``1_000``, ``Infinity`` and digits of
other scripts (``١٠٠٠``, ``१०००``); none of those may become money. :func:`plain_decimal` accepts only
an optional sign, ASCII digits and one decimal point (thousands separators are the caller's to
remove), with at most 30 digits; JSON numbers keep the text they were written in
(``portal.api.parsers``), so ``1e10`` sent as a JSON number is refused too.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
MAX_TEXT = 40
MAX_DIGITS = 30
CENT = Decimal("0.01")
# The largest amount a money column stores (DecimalField(max_digits=14, decimal_places=2)).
MAX_MONEY = Decimal("999999999999.99")


class NotPlainNumber(ValueError):
    """Not a plain decimal number."""


class ValueProblem(ValueError):
    """A single value is wrong; ``str()`` is the message (without the field name)."""


class JSONNumber(float):
    """A JSON number with a fraction or exponent, as float, remembering how it was written."""

    text: str

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.text = text
        return number


def plain_decimal(value) -> Decimal:
    """The value as a finite Decimal if it is written as a plain decimal; else NotPlainNumber."""
    if isinstance(value, bool) or value is None:
        raise NotPlainNumber(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value.as_tuple().exponent > 0:
            raise NotPlainNumber(value)
        text = None
    elif isinstance(value, int):
        if abs(value) >= 10 ** MAX_DIGITS:
            raise NotPlainNumber("too many digits")
        return Decimal(value)
    elif isinstance(value, float):
        text = getattr(value, "text", None) or repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise NotPlainNumber(value)
    if text is not None:
        if len(text) > MAX_TEXT or not PLAIN.fullmatch(text):
            raise NotPlainNumber(text)
        try:
            value = Decimal(text)
        except InvalidOperation:  # pragma: no cover - PLAIN only matches what Decimal reads
            raise NotPlainNumber(text) from None
    if len(value.as_tuple().digits) > MAX_DIGITS:
        raise NotPlainNumber("too many digits")
    return value


def is_plain(value) -> bool:
    try:
        plain_decimal(value)
    except NotPlainNumber:
        return False
    return True


def money(value, *, required: bool = True) -> Decimal | None:
    """Decimal yuan, ≥ 0, at most two decimals. ``None``/blank → None (or an error if required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueProblem(_("is required"))
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        text = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:  # plain decimals only: never 1e10, 1_000, Infinity or other scripts' digits (portal.numbers)
        amount = plain_decimal(text)
    except NotPlainNumber:
        shown = value[:40] if isinstance(value, str) else getattr(value, "text", "")[:40] or type(value).__name__
        raise ValueProblem(_("“%(value)s” is not an amount in yuan (e.g. 1234.50)") % {"value": shown}) from None
    if not amount.is_finite():
        raise ValueProblem(_("“%(value)s” is not an amount in yuan (e.g. 1234.50)") % {"value": value})
    if amount < 0:
        raise ValueProblem(_("must not be negative (%(value)s)") % {"value": text})
    if amount != amount.quantize(CENT):
        raise ValueProblem(_("has more than two decimals (%(value)s); amounts are in yuan to the fen") % {"value": text})
    if amount > MAX_MONEY:
        raise ValueProblem(_("is too large (%(value)s)") % {"value": text})
    return amount.quantize(CENT)
