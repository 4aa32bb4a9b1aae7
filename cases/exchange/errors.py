"""Refusals of the exchange services. Each carries the HTTP status the API answers with, a
``code``, and — when it belongs to one input — the ``field`` a form shows it next to."""
from __future__ import annotations


class ExchangeError(Exception):
    http_status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code
        self.field = field

    def __str__(self) -> str:
        return self.message


class Invalid(ExchangeError):
    """Bad input; ``field`` names it."""


class NotPermitted(ExchangeError):
    http_status = 403
    default_code = "forbidden"


class NotFound(ExchangeError):
    """Not there, or outside the user's scope (the same answer, so nothing leaks)."""

    http_status = 404
    default_code = "not_found"


class Conflict(ExchangeError):
    http_status = 409
    default_code = "conflict"
