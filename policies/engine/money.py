"""Exact money arithmetic.

Inside the hot loop amounts are integers in fen (0.01 元) and ratios are integers scaled by
``SCALE`` (so a ratio may have at most six decimals). ``ratio × amount`` is then an exact integer
in fen × SCALE and is rounded half-up to the fen once — the same result ``Decimal`` arithmetic with
``quantize(Decimal("0.01"), ROUND_HALF_UP)`` gives, only faster. Every amount is non-negative.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

SCALE = 1_000_000
HALF = SCALE // 2
CENT = Decimal("0.01")


def mul_round(fen: int, ratio_scaled: int) -> int:
    """ratio × amount, rounded half-up to the fen (both non-negative)."""
    return (fen * ratio_scaled + HALF) // SCALE


def round_scaled(value_scaled: int) -> int:
    """An exact amount in fen × SCALE, rounded half-up to the fen (non-negative)."""
    return (value_scaled + HALF) // SCALE


def fen_str(fen: int) -> str:
    """Fen as a money string with exactly two decimals."""
    if fen < 0:
        return "-" + fen_str(-fen)
    return f"{fen // 100}.{fen % 100:02d}"


def fen_dec(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def dec_fen(value: Decimal) -> int:
    """A Decimal with at most two decimals, in fen."""
    return int(value.scaleb(2))


def dec_scaled(value: Decimal) -> int:
    """A Decimal ratio with at most six decimals, scaled by SCALE."""
    return int(value.scaleb(6))


_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def to_decimal(value) -> Decimal:
    """A JSON number or decimal string as a finite Decimal; raises ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, Decimal):
        d = value
        # a JSON number read as Decimal: not from exponent notation (1E+30)
        if d.is_finite() and d.as_tuple().exponent > 0:
            raise ValueError("not a number")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        # a JSON number keeps its spelling (portal.api.parsers.JSONNumber): 1e10 is no amount
        text = getattr(value, "text", None) or repr(value)
        if not _PLAIN.fullmatch(text):
            raise ValueError("not a number")
        d = Decimal(text)
    elif isinstance(value, str):
        text = value.strip()
        if not text or text != value or not _PLAIN.fullmatch(text):  # no 1e10, 1_000, ١٠٠٠
            raise ValueError("not a number")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError("not a number") from None
    else:
        raise ValueError("not a number")
    if not d.is_finite() or len(d.as_tuple().digits) > 30:  # beyond any amount or ratio
        raise ValueError("not a number")
    return d


def decimals(d: Decimal) -> int:
    """How many decimals the value needs (``"1.50"`` needs one, ``"1.505"`` three)."""
    exp = d.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0
