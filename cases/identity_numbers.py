"""Resident identity numbers (公民身份号码, GB 11643-1999): validation, derived facts, masking.

Validation is python-stdnum's ``cn.ric``; this module turns its exceptions into messages a
caseworker can act on.

:func:`normalise` is THE spelling of a number: every way a number comes in (forms, API, department
pushes, claim import, searches) goes through it before validation, storage and uniqueness, so
``36０702…`` (a full-width ０), ``٣٦٠٧…`` (Arabic-Indic digits) or a trailing lower-case ``x`` are the
same person as the ASCII number. ``manage.py find_id_number_collisions`` reports stored numbers
that become the same once normalised.
"""
from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

# GB/T 2260 province-level prefixes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


class IdentityNumberError(ValueError):
    """The number is not a valid resident identity number; ``str(err)`` says why."""


@dataclass(frozen=True)
class IdentityNumberFacts:
    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F"
    birth_place: str  # the 6-digit area code of first registration


_ASCII_SPACE = re.compile(r"\s+")
ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def normalise(value) -> str:
    """The number as stored and compared: Unicode compatibility form (NFKC: full-width ０-９ and
    ｘ become ASCII), every Unicode decimal digit (Arabic-Indic, Devanagari, …) as its ASCII digit,
    spaces and invisible format characters (zero-width space, BOM) removed, letters upper-case
    (a lower-case x check character becomes X). Never raises; ``None`` becomes ``""``."""
    text = "" if value is None else str(value)
    if text.isascii():
        return _ASCII_SPACE.sub("", text).upper()
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            continue
        digit = unicodedata.decimal(ch, None)
        out.append(str(digit) if digit is not None else ch)
    return "".join(out).upper()


def validate(value: str) -> IdentityNumberFacts:
    """Validate and return what the number says about the person; raise IdentityNumberError."""
    number = normalise(value)
    if not number:
        raise IdentityNumberError(_("Identity number is required."))
    if len(number) != 18:
        raise IdentityNumberError(
            _("Identity number must have 18 characters, this one has %(n)d.") % {"n": len(number)}
        )
    if not ID_SHAPE.fullmatch(number):
        raise IdentityNumberError(_("Identity number must be 17 digits followed by a digit or X."))
    try:
        birth = ric.get_birth_date(number)
    except (stdnum_exceptions.ValidationError, ValueError):
        raise IdentityNumberError(
            _("Identity number contains an impossible birth date (%(d)s).") % {"d": number[6:14]}
        ) from None
    if birth > datetime.date.today():
        raise IdentityNumberError(_("Identity number has a birth date in the future (%(d)s).") % {"d": number[6:14]})
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise IdentityNumberError(
            _("Identity number check character is wrong: it ends in %(got)s, the first 17 digits need %(want)s.")
            % {"got": number[17], "want": expected}
        )
    # stdnum's ric.validate() also demands that the area code existed in the birth year; real
    # numbers issued in the 1980s–90s to people born earlier fail that, so only the province is
    # checked here.
    if number[:2] not in PROVINCE_PREFIXES:
        raise IdentityNumberError(
            _("Identity number starts with %(area)s, which is not a province code.") % {"area": number[:2]}
        )
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdentityNumberFacts(number=number, birth_date=birth, sex=sex, birth_place=number[:6])


def mask(value: str) -> str:
    """``360702199001011234`` → ``3607**********1234``: what every list and export shows."""
    number = normalise(value)
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


#: What looks like an identity number inside free text: 14 or more digits in a row (any script:
#: full-width, Arabic-Indic, …; spaces and invisible characters between them allowed), optionally
#: ending in X. Old 15-digit numbers, numbers one digit short or long, and typos all match.
_NUMBER_LIKE = re.compile(r"(?:\d[\s\u200b-\u200f\u2060\ufeff]*){13,}\d(?:[\s\u200b-\u200f\u2060\ufeff]*[xXｘＸ])?")


def mask_in_text(value) -> str:
    """``value`` with everything that looks like an identity number masked (:func:`mask`), valid
    or not: for text that a department sent and that may hold a number in any column (a push's
    rejected rows)."""
    text = "" if value is None else str(value)
    return _NUMBER_LIKE.sub(lambda m: mask(m.group(0)), text)


def compose(area: str, birth: datetime.date, sequence: int) -> str:
    """Build a valid number from its parts (area code, birth date, 3-digit sequence; odd = male).

    For demo data, tests and benchmarks.
    """
    body = f"{area}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def collisions(rows) -> dict[str, list]:
    """``rows`` = (key, stored number) pairs; the normalised numbers that more than one row
    becomes, each with its rows' keys in the order given. Used by ``find_id_number_collisions``."""
    groups: dict[str, list] = {}
    for key, number in rows:
        groups.setdefault(normalise(number), []).append(key)
    return {number: keys for number, keys in groups.items() if len(keys) > 1}
