"""Refusals of the policies services: the portal's one error model (``portal.errors``) with the
codes of this domain (:class:`PolicyCode`).

* :class:`ChangeRefused` — a policy administrator's change (a parameter, a draft's details, a
  publication, a statistic, a policy file, a worked example) was refused; one message per problem,
  each naming the parameter path or the form field, and ``field`` when it is one.
* :class:`SettlementRefused` — bad settlement input, or a policy that cannot settle it; it keeps the
  engine's structured ``problems`` and words them in the reader's language when shown.

Pages use ``portal.web.refusals``; the API answers them through its one exception handler (400).
"""
from __future__ import annotations

from enum import StrEnum

from portal import errors as portal_errors


class PolicyCode(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


class PolicyError(portal_errors.PortalError):
    """A refusal of a policies service, with one message per problem."""

    default_code = PolicyCode.INVALID

    def __init__(self, errors, *, code: str | None = None, field: str | None = None):
        super().__init__(list(errors) if isinstance(errors, (list, tuple)) else [errors], code=code, field=field)


class ChangeRefused(PolicyError):
    """A policy admin's change was refused. ``errors`` are shown to the user; ``field`` names the
    parameter path or form field they belong to, when there is one."""


class SettlementRefused(PolicyError):
    """Bad settlement input or a policy that cannot settle it; one message per problem, each naming
    the field or the parameter (``claims[0].policy_scope: 48000.00 exceeds total 45000.00``)."""

    def __init__(self, errors, *, code: str | None = None):
        from .engine import Problem
        from .engine.errors import as_problem

        items = [errors] if isinstance(errors, (str, Problem)) else list(errors)
        #: the structured problems (code, params, path); render them with ``messages.render``
        self.problems = [as_problem(e, "refused") for e in items]
        #: the engine's own sentences (English)
        self.texts: list[str] = [p.text for p in self.problems]
        super().__init__(self.texts, code=code,
                         field=next((p.path for p in self.problems if getattr(p, "path", None)), None))

    @property
    def errors(self) -> list[str]:
        """The problems in the reader's language (the active one; Chinese by default)."""
        from .messages import render

        return [render(p) for p in self.problems]
