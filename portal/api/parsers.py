"""The API's JSON parser: DRF's, refusing JSON nested too deeply (a 400, not a RecursionError 500)
and keeping how each JSON number with a fraction or exponent was written (``portal.numbers``), so
that ``1e10`` or ``1E+30`` never becomes money."""
from __future__ import annotations

import codecs
import io
import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal import tabular
from portal.errors import Invalid, TooLarge
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


class LimitedJSONParser(parsers.BaseParser):
    """A JSON parser with limits of its own, checked before anything is parsed: the body's size
    (``limits.max_bytes``: a 413 — from the declared length before the body is read, or from what
    was read), then its nesting depth, number of values and length of a text
    (``portal.tabular.check_json``: a 400); then the JSON as :class:`JSONParser` reads it. Each
    refusal is a ``portal.errors`` refusal naming ``field``, the input the body carries.

    Not a subclass of DRF's JSONParser on purpose: DRF hands those ``request.body``, which Django
    caps at ``DATA_UPLOAD_MAX_MEMORY_SIZE``; this one reads the stream itself, up to its own limit.
    Subclass it with ``limits`` and ``field`` for an endpoint."""

    media_type = "application/json"
    renderer_class = parsers.JSONParser.renderer_class
    limits: tabular.Limits = tabular.DEFAULT_LIMITS
    field: str = "body"

    def _too_large(self):
        return TooLarge(_("%(field)s: the request body is larger than %(mb)s MB; split it into several requests.")
                        % {"field": self.field, "mb": self.limits.max_bytes // (1024 * 1024)}, field=self.field)

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        meta = getattr(request, "META", {}) if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > self.limits.max_bytes:
            raise self._too_large()
        raw = stream.read(self.limits.max_bytes + 1) if stream is not None else b""
        if len(raw) > self.limits.max_bytes:
            raise self._too_large()
        try:
            tabular.check_json(raw, self.limits)
        except tabular.TableError as exc:
            raise Invalid(f"{self.field}: {exc}", field=self.field) from None
        try:
            return JSONParser().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            raise Invalid(f"{self.field}: {exc.detail}", field=self.field) from None
