"""Errors the services raise. Each carries the HTTP status the API answers with and a ``code``.

Field problems are raised as Django's ``ValidationError`` with a dict ``{field: [message, …]}`` so a
form can show them next to the field (``form.add_error(None, err)``) and the API answers 400 with
the same dict.
"""
from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a message a person can act on."""

    http_status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message


class NotPermitted(ServiceError):
    """The user lacks the role, or the role does not cover the region (403)."""

    http_status = 403
    default_code = "forbidden"


class NotFound(ServiceError):
    """Not there, or outside the user's scope — the same answer, so nothing leaks (404)."""

    http_status = 404
    default_code = "not_found"


class Conflict(ServiceError):
    """Someone else changed it first, or it is in a state that does not allow this (409)."""

    http_status = 409
    default_code = "conflict"
