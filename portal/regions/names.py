"""A region's name for messages: ``130900`` → 沧州市.

Messages (the engine's refusals on the case page, monitoring runs, simulation reports,
``manage.py settle``) carry region codes as data; the reader is shown the region's name.
"""
from __future__ import annotations

import re

_CODE = re.compile(r"^\d{6}$")
_LEADING_CODE = re.compile(r"^(\d{6})(?= )")


def region_name(code) -> str:
    """The name of the region ``code`` (沧州市); the code itself when the portal does not know it."""
    code = "" if code is None else str(code)
    if not _CODE.match(code):
        return code
    from .models import Region

    try:
        name = Region.objects.filter(code=code).values_list("name", flat=True).first()
    except RuntimeError:    # no database at hand (a test of the messages alone)
        name = None
    if not name:
        from .data import REGIONS

        name = next((n for c, n, _parent in REGIONS if c == code), None)
    return name or code


def with_region_name(label) -> str:
    """A label that starts with a region code (``130900 沧政办规〔2022〕7号``, the engine's name of a
    policy version) with the region's name instead (沧州市 沧政办规〔2022〕7号)."""
    label = "" if label is None else str(label)
    m = _LEADING_CODE.match(label)
    return region_name(m.group(1)) + label[m.end():] if m else region_name(label)
