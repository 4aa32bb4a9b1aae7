"""The two ways a settlement is refused: bad input, or a policy that cannot be applied.

Each refusal is a list of structured **problems** (:class:`Problem`: ``code``, ``params``, ``path``)
with an English sentence for logs and tests (``text``). Readers never get the English: one renderer,
``policies.messages.render``, turns a problem into the reader's language (Chinese by default) for the
pages, the API and ``manage.py settle``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_PATH_RE = re.compile(r"^([A-Za-z_][\w]*(?:\[\d+\])?(?:\.[A-Za-z_0-9][\w]*(?:\[\d+\])?)*): ")


@dataclass(frozen=True)
class Problem:
    """One problem: a stable ``code`` (e.g. ``input.invalid``, ``policy.unset``,
    ``policy.statistic_missing``, ``policy.announced_missing``, ``policy.category_unset``,
    ``policy.ratio_below_floor``, ``input.basic_paid_needed``), its ``params``, the input field or
    policy parameter it concerns (``path``), and the English sentence (``text``)."""
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    path: str | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict:
        return {"code": self.code, "params": dict(self.params), "path": self.path}


def as_problem(item, default_code: str) -> Problem:
    """A Problem from a Problem or an English message naming its field first (``path: reason``)."""
    if isinstance(item, Problem):
        return item
    text = str(item)
    m = _PATH_RE.match(text)
    return Problem(default_code, {"reason": text[m.end():] if m else text}, m.group(1) if m else None, text)


class EngineError(ValueError):
    """Base: carries every problem found (``.problems``), and their English sentences (``.errors``)."""
    default_code = "engine.refused"

    def __init__(self, errors):
        if isinstance(errors, (str, Problem)):
            errors = [errors]
        self.problems: list[Problem] = [as_problem(e, self.default_code) for e in errors]
        self.errors: list[str] = [p.text for p in self.problems]
        super().__init__("; ".join(self.errors))


class InputError(EngineError):
    """The settlement input is malformed; each message names the field (``claims[0].total: ...``)."""
    default_code = "input.invalid"


class PolicyError(EngineError):
    """The policy cannot settle these claims: no version in force, an amount needs an unset
    parameter, a needed statistic is missing, or a document breaks its framework. Each message names
    the region, the document and the parameter (path and clause)."""
    default_code = "policy.refused"
