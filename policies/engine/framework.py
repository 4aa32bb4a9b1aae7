"""Rules a provincial framework document fixes for the city documents under it.

A framework document (``"framework": true``) carries ``parameters.framework_rules``:

- ``no_deductible_categories`` — these categories have no assistance deductible (粤府办〔2022〕40号
  二(四)); a city route covering one of them must have deductible ``"none"`` (or unset, which then
  inherits "none").
- ``shared_outpatient_inpatient_cap`` — outpatient and inpatient assistance share one annual cap
  (二(五)): all routes of a category use one pool with one cap.
- ``critical_preferential_categories`` — these categories get the critical-illness preferential
  treatment (三(八)).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .codes import Code
from .errors import Problem, problem
from .schema import NONE, parse_leaves


def _rule(fw_params: dict, key: str):
    node = (fw_params.get("framework_rules") or {}).get(key)
    if not isinstance(node, dict):
        return None, None
    return node.get("value"), node.get("clause")


def _has_no_deductible(q) -> bool:
    return q is not None and (q[0] == NONE or (q[0] == "amount" and q[1] == 0))


def validate_against_framework(doc: dict, framework_doc: dict) -> list[str]:
    """The English sentences of :func:`framework_problems` (for logs and the older callers)."""
    return [p.text for p in framework_problems(doc, framework_doc)]


def framework_problems(doc: dict, framework_doc: dict) -> list[Problem]:
    """Where ``doc`` breaks a rule of ``framework_doc``, one message per breach naming the
    parameter and the framework's document and clause (a :class:`Problem`; ``str()`` gives the
    English sentence). Unset values never breach."""
    fw_params = framework_doc.get("parameters") or {}
    fw_name = framework_doc.get("document", "framework")
    values = parse_leaves(doc)
    routes = ((doc.get("parameters") or {}).get("assistance") or {}).get("routes") or []
    errors: list[Problem] = []

    cats, clause = _rule(fw_params, "no_deductible_categories")
    if cats:
        for i in range(len(routes)):
            base = f"assistance.routes[{i}]"
            covered = values.get(f"{base}.categories") or ()
            hit = [c for c in cats if c in covered]
            if not hit:
                continue
            q = values.get(f"{base}.deductible")
            fixed = values.get(f"{base}.deductible_fixed") or {}
            if (q is not None and not _has_no_deductible(q)) or any(v != 0 for v in fixed.values()):
                errors.append(problem(Code.FRAMEWORK_NO_DEDUCTIBLE, f"{base}.deductible",
                                      f"{fw_name} {clause}: {', '.join(hit)} must have no deductible (不设年度救助起付标准)",
                                      framework=fw_name, clause=clause, categories=hit))

    shared, clause = _rule(fw_params, "shared_outpatient_inpatient_cap")
    if shared is True:
        by_category: dict[str, list[tuple[int, str, object]]] = {}
        for i in range(len(routes)):
            base = f"assistance.routes[{i}]"
            covered = values.get(f"{base}.categories") or ()
            pool = values.get(f"{base}.pool")
            if pool is None:
                continue
            for c in covered:
                by_category.setdefault(c, []).append((i, pool, values.get(f"{base}.cap")))
        reported = set()
        for c, entries in by_category.items():
            first_i, first_pool, first_cap = entries[0]
            for i, pool, cap in entries[1:]:
                if (i, "pool") in reported:
                    continue
                if pool != first_pool:
                    reported.add((i, "pool"))
                    errors.append(problem(Code.FRAMEWORK_SHARED_CAP, f"assistance.routes[{i}].pool",
                                          f"{fw_name} {clause}: outpatient and inpatient share one annual cap — {c} "
                                          f"uses pool {first_pool!r} (routes[{first_i}]) and {pool!r} (routes[{i}])",
                                          framework=fw_name, clause=clause, category=c, what="pool",
                                          first=first_i, other=i))
                elif cap is not None and first_cap is not None and cap != first_cap:
                    reported.add((i, "pool"))
                    errors.append(problem(Code.FRAMEWORK_SHARED_CAP, f"assistance.routes[{i}].cap",
                                          f"{fw_name} {clause}: outpatient and inpatient share one annual cap — {c} "
                                          f"has caps {first_cap} (routes[{first_i}]) and {cap} (routes[{i}])",
                                          framework=fw_name, clause=clause, category=c, what="cap",
                                          first=first_i, other=i))

    floors, clause = _rule(fw_params, "assistance_ratio_floors")
    if isinstance(floors, list):
        for floor in floors:
            if not isinstance(floor, dict):
                continue
            cats, lo = floor.get("categories") or (), floor.get("min")
            try:
                lo = Decimal(str(lo))
            except (InvalidOperation, ValueError):
                continue
            for i in range(len(routes)):
                base = f"assistance.routes[{i}]"
                hit = [c for c in cats if c in (values.get(f"{base}.categories") or ())]
                if not hit:
                    continue
                rates = ([values[f"{base}.ratio"]] if values.get(f"{base}.ratio") is not None else []) + \
                    [r for _, r in (values.get(f"{base}.segments") or ())]
                low = [r for r in rates if r < lo]
                if low:
                    errors.append(problem(Code.FRAMEWORK_RATIO_FLOOR, f"{base}.ratio",
                                          f"{fw_name} {clause}: {', '.join(hit)} must be assisted at no less than "
                                          f"{lo} (the ratio is {min(low)})", framework=fw_name, clause=clause,
                                          categories=hit, floor=str(lo), ratio=str(min(low))))

    cats, clause = _rule(fw_params, "critical_preferential_categories")
    if cats:
        pref = values.get("critical.preferential.categories")
        if pref is not None:
            missing = [c for c in cats if c not in pref]
            if missing:
                errors.append(problem(Code.FRAMEWORK_PREFERENTIAL, "critical.preferential.categories",
                                      f"{fw_name} {clause}: {', '.join(missing)} must receive the critical-illness "
                                      f"preferential treatment (倾斜支付)", framework=fw_name, clause=clause,
                                      categories=missing))
    return errors
