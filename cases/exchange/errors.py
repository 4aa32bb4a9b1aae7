"""Refusals of the exchange services: the portal's one error model (``portal.errors``) with the
codes of this domain (:class:`ExchangeCode`); ``field`` names the input a form shows it next to."""
from __future__ import annotations

from enum import StrEnum

from portal import errors as portal_errors


class ExchangeCode(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    ALREADY_ASKED = "already_asked"
    ALREADY_ANSWERED = "already_answered"


class ExchangeError(portal_errors.PortalError):
    """A refusal of an exchange service."""


class Invalid(ExchangeError, portal_errors.Invalid):
    """Bad input; ``field`` names it."""


class NotPermitted(ExchangeError, portal_errors.NotPermitted):
    pass


class NotFound(ExchangeError, portal_errors.NotFound):
    """Not there, or outside the user's scope (the same answer, so nothing leaks)."""


class Conflict(ExchangeError, portal_errors.Conflict):
    pass
