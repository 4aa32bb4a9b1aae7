"""The two ways a settlement is refused: bad input, or a policy that cannot be applied.

Each refusal is a list of structured **problems** (:class:`Problem`: ``code``, ``params``, ``path``)
with an English sentence for logs and tests (``text``). Every code is listed in
:mod:`policies.engine.codes`. Readers never get the English: one renderer,
``policies.messages.render``, turns a problem into the reader's language (Chinese by default) from
its code and params alone, for the pages, the API and ``manage.py settle``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .codes import Code


@dataclass(frozen=True)
class Problem:
    """One problem: a stable ``code`` (a :class:`~policies.engine.codes.Code`), its ``params``
    (plain JSON values), the input field or policy parameter it concerns (``path``), and the English
    sentence (``text``, for logs)."""
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    path: str | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict:
        """The stored form (JSON): code, params, path and the English text."""
        return {"code": str(self.code), "params": dict(self.params), "path": self.path, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict) -> Problem:
        return cls(data.get("code") or Code.LEGACY, dict(data.get("params") or {}), data.get("path"),
                   data.get("text") or "")


def problem(code: Code, path: str | None, text: str, **params) -> Problem:
    """A problem of ``code`` at ``path``; ``text`` is the English sentence *without* the path (it is
    put in front: ``claims[0].total: must not be negative``)."""
    return Problem(code, params, path, f"{path}: {text}" if path else text)


def as_problem(item, default_code: str = Code.LEGACY) -> Problem:
    """A Problem from a Problem, its stored dict, or (only for sentences stored before problems had
    codes) a plain sentence, kept as a problem of ``default_code``."""
    if isinstance(item, Problem):
        return item
    if isinstance(item, dict) and "code" in item:
        return Problem.from_dict(item)
    return Problem(default_code, {}, None, str(item))


class EngineError(ValueError):
    """Base: carries every problem found (``.problems``), and their English sentences (``.errors``)."""

    def __init__(self, problems):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = [as_problem(p) for p in problems]
        self.errors: list[str] = [p.text for p in self.problems]
        super().__init__("; ".join(self.errors))


class InputError(EngineError):
    """The settlement input is malformed; each problem names the field (``claims[0].total``)."""


class PolicyError(EngineError):
    """The policy cannot settle these claims: no version in force, an amount needs an unset
    parameter, a needed statistic is missing, or a document breaks its framework. Each problem names
    the region, the document and the parameter (path and clause)."""
