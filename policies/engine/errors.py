"""The two ways a settlement is refused: bad input, or a policy that cannot be applied."""
from __future__ import annotations


class EngineError(ValueError):
    """Base: carries every problem found, one clear message each (``.errors``)."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [errors]
        self.errors: list[str] = list(errors)
        super().__init__("; ".join(self.errors))


class InputError(EngineError):
    """The settlement input is malformed; each message names the field (``claims[0].total: ...``)."""


class PolicyError(EngineError):
    """The policy cannot settle these claims: no version in force, an amount needs an unset
    parameter, a needed statistic is missing, or a document breaks its framework. Each message names
    the region, the document and the parameter (path and clause)."""
