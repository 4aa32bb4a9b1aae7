"""One error model for the whole portal.

Every refusal a service makes is a :class:`PortalError` (or a subclass): a message a person can act
on, in the reader's language; a machine ``code`` from its domain's enum (``cases.services.errors.
CaseCode``, ``cases.exchange.errors.ExchangeCode``, :class:`PortalCode`); the HTTP status the API
answers with; and, when it belongs to one input, the ``field``.

Field problems may also be raised as Django's ``ValidationError({field: [message, …]})``.

* The API turns both into one body (``portal.api.errors.exception_handler``, installed as
  ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``)::

      {"detail": "first message", "code": "invalid", "field": "id_number",
       "errors": ["id_number: first message", …], "fields": {"id_number": ["first message"]}}

* Pages use one helper, :func:`portal.web.refusals`, which puts field problems next to the form's
  fields, the rest above the form (or in the page's messages), and turns 403/404 refusals into
  the portal's 403/404 pages.
"""
from __future__ import annotations

from enum import StrEnum


class PortalCode(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    TOO_LARGE = "too_large"


class PortalError(Exception):
    """A refusal with a message a person can act on."""

    http_status = 400
    default_code: str = PortalCode.INVALID

    def __init__(self, message, *, code: str | None = None, field: str | None = None):
        # A list of messages: a refusal of several problems at once (a policy file, a settlement
        # input), each message naming its field (``claims[0].total: …``); the first is ``message``.
        self._messages = [str(m) for m in message] if isinstance(message, (list, tuple)) else None
        if self._messages is not None:
            message = self._messages[0] if self._messages else ""
        super().__init__(message)
        self.message = str(message)
        self.code = str(code or self.default_code)
        self.field = field

    @property
    def errors(self) -> list[str]:
        """Every message of the refusal (one, unless it was given a list)."""
        return list(self._messages) if self._messages is not None else [self.message]

    def __str__(self) -> str:
        return "; ".join(self.errors)

    def api_body(self) -> dict:
        """The API's one error body for this refusal (``portal.api.errors.exception_handler``). A
        list of messages is answered as given; the field is the one named, else the first
        message's (``claims[0].total: …``)."""
        if self._messages is None:
            return error_body(self.message, code=self.code, field=self.field)
        errors = self.errors
        first = errors[0] if errors else ""
        field = self.field or (first.split(": ", 1)[0] if ": " in first else None)
        return error_body(first, code=self.code, field=field, errors=errors)


class Invalid(PortalError):
    """Bad input (400); ``field`` names it when it is one field."""


class TooLarge(PortalError):
    """The request (or an upload) is larger than what the endpoint takes (413); ``field`` names it."""

    http_status = 413
    default_code = PortalCode.TOO_LARGE


class NotPermitted(PortalError):
    """The user lacks the role, or the role does not cover the region (403)."""

    http_status = 403
    default_code = PortalCode.FORBIDDEN


class NotFound(PortalError):
    """Not there, or outside the user's scope — the same answer, so nothing leaks (404)."""

    http_status = 404
    default_code = PortalCode.NOT_FOUND


class Conflict(PortalError):
    """Someone else changed it first, or its state does not allow this (409)."""

    http_status = 409
    default_code = PortalCode.CONFLICT


def field_messages(exc) -> dict[str, list[str]]:
    """``{field: [messages]}`` of a Django ``ValidationError`` (non-field ones under ``non_field_errors``)."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def error_body(message: str, *, code: str, fields: dict[str, list[str]] | None = None,
               field: str | None = None, errors: list[str] | None = None) -> dict:
    """The one error body of the API."""
    body: dict = {"detail": str(message), "code": str(code)}
    if fields:
        body["fields"] = fields
        if field is None and len(fields) == 1:
            field = next(iter(fields))
        if errors is None:
            errors = [m if f in ("non_field_errors", "detail") else f"{f}: {m}" for f, ms in fields.items() for m in ms]
    if field:
        body["field"] = str(field)
    body["errors"] = errors if errors is not None else [
        f"{field}: {message}" if field and not str(message).startswith(f"{field}:") else str(message)
    ]
    return body
