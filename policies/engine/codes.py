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

    # --- A policy document's own mistakes (schema.document_problems; path: the document's field or
    # parameter; ``within``, where a problem is inside a value: steps such as ["segment", 1],
    # ["part", "ratio"], ["adjustment", 0], ["floor", 0], ["level", 2], ["year", 2023]) -----------
    DOC_NOT_OBJECT = "document.not_object"                 # —
    DOC_UNKNOWN_FIELD = "document.unknown_field"           # key
    DOC_NOT_REGION = "document.not_region"                 # value, inherits (bool, optional)
    DOC_REQUIRED = "document.required"                     # what ("text" | "date", optional)
    DOC_NOT_BOOL = "document.not_bool"                     # —
    DOC_NOT_DATE = "document.not_date"                     # —
    DOC_END_BEFORE_START = "document.end_before_start"     # end, start
    DOC_RETRO_AFTER_START = "document.retroactive_after_start"  # retroactive, start
    DOC_NOT_PARAMETER = "document.not_parameter"           # —
    DOC_PARAMETER_KEY = "document.parameter_key"           # key
    DOC_NOT_TEXT = "document.not_text"                     # —
    DOC_NOT_LIST = "document.not_list"                     # what (optional)
    DOC_UNKNOWN_PARAMETER = "document.unknown_parameter"   # key
    DOC_MISSING = "document.missing"                       # —
    DOC_NOT_NUMBER = "document.not_number"                 # what (ratio | fraction | amount | ratio_or_amount), or_none
    DOC_BELOW_MIN = "document.below_min"                   # lo, or_none
    DOC_OUT_OF_RANGE = "document.out_of_range"             # lo, hi
    DOC_TOO_MANY_DECIMALS = "document.too_many_decimals"   # places, or_none
    DOC_NOT_QUANTITY = "document.not_quantity"             # —
    DOC_BAD_SHAPE = "document.bad_shape"                   # shape
    DOC_NOT_LEVEL = "document.not_level"                   # value, or_none
    DOC_NOT_LOCATION = "document.not_location"             # value
    DOC_UNKNOWN_KEY = "document.unknown_key"               # key, shape
    DOC_NOT_CODE = "document.not_code"                     # what (statistic | announced | name | category), value
    DOC_NOT_INT = "document.not_int"                       # —
    DOC_NOT_CHOICE = "document.not_choice"                 # value, choices
    DOC_UNKNOWN_ENTRY = "document.unknown_entry"           # what, value
    DOC_DUPLICATE_ENTRY = "document.duplicate_entry"       # —
    DOC_EMPTY = "document.empty"                           # —
    DOC_NOT_YEAR = "document.not_year"                     # value
    DOC_NOT_INCREASING = "document.not_increasing"         # —
    DOC_UNBOUNDED_NOT_LAST = "document.unbounded_not_last"  # —
    DOC_NATIONAL_CATEGORY = "document.national_category"   # value
    DOC_DEFINED_TWICE = "document.defined_twice"           # value
    DOC_UNKNOWN_CATEGORY = "document.unknown_category"     # value
    DOC_NOT_RECIPIENT = "document.not_recipient"           # category
    DOC_BELOW_FLOOR = "document.below_floor"               # value, floor, clause, what
    DOC_RATIO_MISSING = "document.ratio_missing"           # —
    DOC_RATIO_AND_SEGMENTS = "document.ratio_and_segments"  # —
    DOC_ABOVE_ONE_WITH_INCREASE = "document.above_one_with_increase"  # —
    DOC_ENTRY_NEEDS_NAME = "document.entry_needs_name"     # —

    # --- A document breaking its province framework (path: the document's parameter) -----------
    FRAMEWORK_NO_DEDUCTIBLE = "framework.no_deductible"    # framework, clause, categories
    FRAMEWORK_SHARED_CAP = "framework.shared_cap"          # framework, clause, what ("pool" | "cap")
    FRAMEWORK_RATIO_FLOOR = "framework.ratio_floor"        # framework, clause, categories, floor
    FRAMEWORK_PREFERENTIAL = "framework.preferential"      # framework, clause, categories

    # --- A case's calculation refused before the engine is asked -------------------------------
    CASE_NO_CLAIMS = "case.no_claims"                      # year
    CASE_TOO_LARGE = "case.too_large"                      # —
    #: the person's residence / scheme is still to be verified (待核实) and the settlement depends on it
    CASE_PERSON_UNVERIFIED = "case.person_unverified"      # details (["residence", "scheme"])
    #: a refusal stored as a sentence before problems were stored with their codes
    LEGACY = "case.legacy_refusal"                         # —


ALL_CODES: tuple[Code, ...] = tuple(Code)
