"""The API's JSON parser: DRF's, refusing JSON nested too deeply (a 400, not a RecursionError 500)
and keeping how each JSON number with a fraction or exponent was written (``portal.numbers``), so
that ``1e10`` or ``1E+30`` never becomes money."""
from __future__ import annotations

import codecs
import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.numbers import JSONNumber


def _constant(name: str):
    raise ValueError(f"{name} is not a number")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, ValueError) as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        try:
            return json.loads(text, parse_float=JSONNumber, parse_constant=_constant)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply")) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
