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


# --- each part has a public API: no part imports another part's private names ----------------------

#: The parts (sub-apps) of the design card's top level, longest first (docs/conventions.md).
PARTS = ("cases.exchange", "cases.monitoring", "cases.enrolment", "cases.reporting", "portal.audit", "policies", "cases",
         "portal")


def part_of(module: str) -> str | None:
    return next((p for p in PARTS if module == p or module.startswith(p + ".")), None)


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cross_part_private_imports(source: str, here: str, *, package: bool = False) -> list[str]:
    """``from <another part> import _name`` in ``source``, the module ``here``, as ``line: module._name``."""
    base = here.split(".") if package else here.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        for alias in node.names:
            name = alias.name
            if name.startswith("_") and name != "_" and not name.startswith("__") \
                    and part_of(module) is not None and part_of(module) != part_of(here):
                out.append(f"{node.lineno}: {module}.{name}")
    return out


def test_no_part_imports_another_parts_private_names():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files("cases", "portal", "policies")
             for line in cross_part_private_imports(path.read_text(encoding="utf-8"), module_name(path),
                                                    package=path.name == "__init__.py")]
    assert not found, "import another part's public names only (its services, selectors, models):\n" + \
        "\n".join(found)


def test_a_cross_part_private_import_is_found():
    source = ("from cases.exchange.selectors import _scope, liaison_departments\n"
              "from .services import _segment\nfrom ..exchange.views import _page\n")
    assert cross_part_private_imports(source, "cases.monitoring.views") == [
        "1: cases.exchange.selectors._scope", "3: cases.exchange.views._page"]


# --- one error model: pages and API views never catch a service's refusal by hand ------------------

VIEW_MODULES = ["cases.views.assignment", "cases.views.cases", "cases.views.claims", "cases.views.payments",
                "cases.views.persons", "cases.views.queues", "cases.exchange.views", "cases.monitoring.views",
                "portal.audit.views", "portal.views", "cases.api.views", "cases.exchange.api.views",
                "cases.monitoring.api.views", "cases.enrolment.views", "cases.enrolment.api.views",
                "cases.reporting.views", "policies.views", "policies.views_examples", "policies.views_whatif",
                "policies.views_simulation", "policies.api.views", "policies.api.simulation"]
#: The exceptions a view may catch, and why: they are questions to the user, not refusals.
NOT_REFUSALS = {
    ("cases.views.claims", "claim_service.DuplicateClaim"): "the clerk confirms a second, identical claim or cancels",
}


def hand_caught_refusals(module_name: str) -> list[str]:
    """``except X`` clauses of the module where X is a ``PortalError`` or Django's ``ValidationError``."""
    import importlib

    from django.core.exceptions import ValidationError

    from portal.errors import PortalError

    module = importlib.import_module(module_name)
    source = pathlib.Path(module.__file__).read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        for expr in node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]:
            value = module
            try:
                for part in ast.unparse(expr).split("."):
                    value = getattr(value, part)
            except AttributeError:
                continue  # a name imported inside a function is not resolved (queue_bulk reports each case's refusal on purpose)
            if (module_name, ast.unparse(expr)) in NOT_REFUSALS:
                continue
            if isinstance(value, type) and (issubclass(value, PortalError) or issubclass(value, ValidationError)):
                found.append(f"{module_name}:{node.lineno}: except {ast.unparse(expr)}")
    return found


def test_views_leave_refusals_to_the_one_helper():
    problems = [line for name in VIEW_MODULES for line in hand_caught_refusals(name)]
    assert not problems, "use portal.web.refusals (pages) or let the API's exception handler answer:\n" + \
        "\n".join(problems)


def test_the_policies_refusals_are_portal_errors():
    # ChangeRefused / SettlementRefused were ValueErrors that views caught by hand; they are refusals now
    from policies.errors import ChangeRefused, SettlementRefused
    from portal.errors import PortalError

    assert issubclass(ChangeRefused, PortalError) and issubclass(SettlementRefused, PortalError)


def test_a_hand_caught_refusal_is_found():
    # cases.views.common.found turns a selector's NotFound into the 404 page (a helper, like refusals)
    assert [line.split(": ", 1)[1] for line in hand_caught_refusals("cases.views.common")] == ["except NotFound"]


def string_codes(source: str) -> list[str]:
    """``SomeError(..., code="text")``: a refusal whose code is a string, not its domain's enum member
    (Django's own ``ValidationError`` codes of forms and filters are Django's business)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        name = ast.unparse(node.func).split(".")[-1] if isinstance(node, ast.Call) else ""
        if name[:1].isupper() and name != "ValidationError":
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    out.append(f"{node.lineno}: {ast.unparse(node.func)}(code={kw.value.value!r})")
    return out


def test_refusals_carry_their_domains_code_enums():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files("cases", "portal", "policies")
             for line in string_codes(path.read_text(encoding="utf-8"))]
    assert not found, "use CaseCode / ExchangeCode / PortalCode members:\n" + "\n".join(found)


def test_a_string_code_is_found():
    assert string_codes('raise Conflict(_("x"), code="four_eyes")\nraise Conflict("y", code=CaseCode.FOUR_EYES)\n'
                        'raise ValidationError("z", code="invalid")') == ["1: Conflict(code='four_eyes')"]
