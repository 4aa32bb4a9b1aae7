"""GB/T 2260 administrative division codes: pure helpers, no database.

A code is six digits: province ``PP0000``, prefecture-level city ``PPCC00``, county/district
``PPCCDD``. Municipalities directly under the central government (e.g. 重庆市 500000) have their
districts directly below the province (500113 巴南区).
"""
import re

_CODE = re.compile(r"^\d{6}$")


def is_code(code: str) -> bool:
    return bool(_CODE.match(code or ""))


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def scope_prefix(code: str) -> str:
    """The prefix every code inside ``code``'s area starts with (the area includes itself)."""
    level = level_of(code)
    if level == "province":
        return code[:2]
    if level == "city":
        return code[:4]
    return code


def ancestors(code: str) -> list[str]:
    """Codes above ``code``, nearest first (county → city → province); the code itself excluded."""
    level = level_of(code)
    out = []
    if level == "county":
        out.append(code[:4] + "00")
    if level in ("county", "city"):
        out.append(code[:2] + "0000")
    return out


def contains(outer: str, inner: str) -> bool:
    """True when ``inner`` lies inside ``outer``'s area (or is it)."""
    return inner.startswith(scope_prefix(outer))
