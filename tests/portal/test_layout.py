"""Rules of the house that the code's shape must keep (docs/conventions.md), read from the source."""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_files(*parts: str):
    for part in parts:
        for path in sorted((ROOT / part).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def private_imports(source: str) -> list[str]:
    """``from x import _name`` in ``source`` (``_`` itself, gettext, is fine), as ``line: module._name``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_") and alias.name != "_" and not alias.name.startswith("__"):
                    out.append(f"{node.lineno}: {'.' * node.level}{node.module or ''}.{alias.name}")
    return out


def test_tests_and_benchmarks_import_no_private_names():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files("tests", "bench")
             for line in private_imports(path.read_text(encoding="utf-8"))]
    assert not found, "tests and benchmarks use public helpers only:\n" + "\n".join(found)


def test_a_private_import_is_found():
    source = "from django.utils.translation import gettext as _\nfrom bench.recalc.fill import _users, fill\n"
    assert private_imports(source) == ["2: bench.recalc.fill._users"]
