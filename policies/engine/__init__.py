"""Pure-Python settlement engine for 重特大疾病医疗保险和救助 (no Django, no I/O besides the seed
helper). See shared/spec/settlement.md for the contract and policies/seed/README.md for the
version-document format."""
from .book import PolicyBook, load_seed_versions, region_chain, static_book_from_seed
from .codes import Code
from .errors import EngineError, InputError, PolicyError, Problem
from .framework import framework_problems, validate_against_framework
from .inputs import Claim, FenClaim, Identity, Person, SettlementInput, build_input, parse_input
from .schema import (
    ParameterLeaf,
    document_problems,
    get_parameter,
    parameter_leaves,
    set_parameter,
    validate_document,
)
from .settle import Alert, ClaimResult, SettlementResult, result_to_dict, settle, settle_payload
from .subsidy import enrolment_subsidy
from .versions import PolicyVersion

__all__ = [
    "Alert", "Claim", "Code", "document_problems", "framework_problems", "ClaimResult", "EngineError", "FenClaim", "Identity", "InputError", "ParameterLeaf", "Person",
    "PolicyBook", "PolicyError", "Problem", "PolicyVersion", "SettlementInput", "SettlementResult", "build_input",
    "enrolment_subsidy",
    "get_parameter", "load_seed_versions", "parameter_leaves", "parse_input", "region_chain", "result_to_dict",
    "set_parameter", "settle", "settle_payload", "static_book_from_seed", "validate_against_framework",
    "validate_document",
]
