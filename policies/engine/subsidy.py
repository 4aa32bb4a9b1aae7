"""Enrolment subsidy (参保资助) from a version's ``enrolment.subsidies`` rules."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .errors import PolicyError
from .money import CENT
from .schema import leaf_info, parse_leaves
from .versions import PolicyVersion, Unset, unset_refusal


def enrolment_subsidy(version: PolicyVersion, category: str, personal_contribution: Decimal, *, tier: int = 1,
                      tier1_personal_contribution: Decimal | None = None) -> Decimal | None:
    """The subsidy toward a person's personal contribution for the resident scheme ``tier``;
    ``None`` when the document gives this category nothing at that tier. Raises PolicyError when
    the rule's value is unset (e.g. 赣州 dibao: a fixed amount set by the province)."""
    doc = version.doc
    values = parse_leaves(doc)
    rules = ((doc["parameters"].get("enrolment") or {}).get("subsidies") or [])
    for i, _ in enumerate(rules):
        base = f"enrolment.subsidies[{i}]"
        cats = values.get(f"{base}.categories")
        if values.get(f"{base}.tier") != tier or not cats or category not in cats:
            continue
        basis = values.get(f"{base}.basis")
        value = values.get(f"{base}.standard")
        for path, v in ((f"{base}.basis", basis), (f"{base}.standard", value)):
            if v is None:
                clause, what = leaf_info(doc, path)
                raise PolicyError([unset_refusal(version.label, Unset(path, clause, what), category).problem])
        if basis == "fixed_amount":
            return min(value, personal_contribution).quantize(CENT, ROUND_HALF_UP)
        if basis == "percent_of_tier1_personal":
            if tier1_personal_contribution is None:
                raise ValueError("tier1_personal_contribution is needed for a tier-2 subsidy")
            return (value * tier1_personal_contribution).quantize(CENT, ROUND_HALF_UP)
        return (value * personal_contribution).quantize(CENT, ROUND_HALF_UP)
    return None
