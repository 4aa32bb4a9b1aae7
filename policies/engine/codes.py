"""Every problem code the engine raises, in one place.

A refusal is a list of :class:`~policies.engine.errors.Problem` (``code``, ``params``, ``path``).
``policies.messages`` has one template per code (Chinese by gettext, English msgid), so a reader
never needs the engine's English sentence (``Problem.text``, kept for logs). The params each code
carries are listed beside it; ``path`` is the input field or policy parameter concerned.
"""
from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # --- The settlement input (path: the input field) -------------------------------------------
    INPUT_NOT_OBJECT = "input.not_object"                  # —
    INPUT_NOT_LIST = "input.not_list"                      # —
    INPUT_REQUIRED = "input.required"                      # —
    INPUT_UNKNOWN_FIELD = "input.unknown_field"            # —
    INPUT_NOT_DATE = "input.not_date"                      # —
    INPUT_NOT_MONEY = "input.not_money"                    # —
    INPUT_NEGATIVE = "input.negative"                      # —
    INPUT_TOO_MANY_DECIMALS = "input.too_many_decimals"    # places
    INPUT_NOT_BOOL = "input.not_bool"                      # —
    INPUT_UNKNOWN_VALUE = "input.unknown_value"            # field, value, choices
    INPUT_UNKNOWN_CATEGORY = "input.unknown_category"      # value, region (or None)
    INPUT_NOT_REGION = "input.not_region"                  # value
    INPUT_END_BEFORE_START = "input.end_before_start"      # end, start
    INPUT_DUPLICATE_ID = "input.duplicate_id"              # id, other (claim index)
    INPUT_SCOPE_ABOVE_TOTAL = "input.scope_above_total"    # amount, total
    INPUT_PAID_ABOVE_SCOPE = "input.paid_above_scope"      # amount, scope
    INPUT_PAID_SUM_ABOVE_SCOPE = "input.paid_sum_above_scope"  # amount, scope, computed (bool)
    INPUT_NOT_STATISTIC = "input.not_statistic"            # value
    INPUT_NOT_YEAR = "input.not_year"                      # value
    # Amounts a claim must give because the policy cannot compute them (path: the claim's field).
    BASIC_PAID_NEEDED = "input.basic_paid_needed"          # policy, claim, scheme, kind, level
    CRITICAL_PAID_NEEDED = "input.critical_paid_needed"    # policy, claim, scheme (None: no rule at all)

    # --- A policy that cannot settle the claims ------------------------------------------------
    NO_POLICY = "policy.no_documents"                      # region
    NO_VERSION = "policy.no_version"                       # region, date, claim
    UNSET = "policy.unset"                                 # policy, clause, category, level, among
    CATEGORY_UNSET = "policy.category_unset"               # policy, category, clause
    PRECEDENCE_UNRANKED = "policy.precedence_unranked"     # policy, categories, among
    STATISTIC_MISSING = "policy.statistic_missing"         # policy, statistic, region, years, year, clause, category
    ANNOUNCED_MISSING = "policy.announced_missing"         # policy, name, region, year, clause, category
    RATIO_BELOW_FLOOR = "policy.ratio_below_floor"         # policy, ratio, floor, route, clause
    INVALID_DOCUMENT = "policy.invalid_document"           # policy, problem (a problem's dict, when it has one)
    # The portal's side of a policy book (policies.selectors): which versions settle a region.
    UNKNOWN_REGION = "policy.unknown_region"               # region
    VERSION_NOT_FOUND = "policy.version_not_found"         # version (its number)
    VERSION_NOT_APPLICABLE = "policy.version_not_applicable"  # document, version_region, region
    PERIODS_CONFLICT = "policy.periods_conflict"           # document, message (already in the reader's language)

    # --- A document breaking its province framework (path: the document's parameter) -----------
    FRAMEWORK_NO_DEDUCTIBLE = "framework.no_deductible"    # framework, clause, categories
    FRAMEWORK_SHARED_CAP = "framework.shared_cap"          # framework, clause, what ("pool" | "cap")
    FRAMEWORK_RATIO_FLOOR = "framework.ratio_floor"        # framework, clause, categories, floor
    FRAMEWORK_PREFERENTIAL = "framework.preferential"      # framework, clause, categories

    # --- A case's calculation refused before the engine is asked -------------------------------
    CASE_NO_CLAIMS = "case.no_claims"                      # year
    CASE_TOO_LARGE = "case.too_large"                      # —
    #: a refusal stored as a sentence before problems were stored with their codes
    LEGACY = "case.legacy_refusal"                         # —


ALL_CODES: tuple[Code, ...] = tuple(Code)
