"""Refusals of the cases services: the portal's one error model (``portal.errors``) with the codes
of this domain (:class:`CaseCode`).

Field problems are raised as Django's ``ValidationError`` with a dict ``{field: [message, …]}`` so a
form can show them next to the field and the API answers 400 with the same fields.
"""
from __future__ import annotations

from enum import StrEnum

from portal import errors as portal_errors


class CaseCode(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    # workflow
    STATE_CONFLICT = "state_conflict"
    ROLE_REQUIRED = "role_required"
    OUT_OF_REGION = "out_of_region"
    FOUR_EYES = "four_eyes"
    REASON_REQUIRED = "reason_required"
    DETAIL_MISSING = "detail_missing"
    UNKNOWN_ACTION = "unknown_action"
    PAYMENTS_ONLY = "payments_only"
    SETTLEMENT_NOT_READY = "settlement_not_ready"
    NOTHING_PAYABLE = "nothing_payable"
    # claims and cases
    CLAIM_TAKEN = "claim_taken"
    CLAIM_LOCKED = "claim_locked"
    CLAIM_IN_USE = "claim_in_use"
    NOT_EDITABLE = "not_editable"
    NO_FULL_ID_PERMISSION = "no_full_id_permission"
    WRONG_DEPARTMENT = "wrong_department"
    # identities entered on evidence
    ALREADY_DECIDED = "already_decided"
    OWN_DEPARTMENT_REQUEST = "own_department_request"
    # payments
    NOT_PAYABLE = "not_payable"
    NOTHING_TO_PAY = "nothing_to_pay"
    NO_PAYEE = "no_payee"
    ALREADY_BATCHED = "already_batched"
    RESULT_RECORDED = "result_recorded"
    REQUEST_KEY_USED = "request_key_used"
    # more refusals of the services
    AMOUNT_CHANGED = "amount_changed"
    CALCULATION_FAILED = "calculation_failed"
    CLAIM_DUPLICATE = "claim_duplicate"
    CLAIM_VOIDED = "claim_voided"
    IN_PAYMENT = "in_payment"
    NOT_APPROVED = "not_approved"
    NOT_ASSIGNABLE = "not_assignable"
    NOT_EXPORTED = "not_exported"
    NOT_SUPPLEMENTARY = "not_supplementary"
    PAYEE_CHANGE_OPEN = "payee_change_open"


class ServiceError(portal_errors.PortalError):
    """A refusal of a cases service with a message a person can act on."""


class NotPermitted(ServiceError, portal_errors.NotPermitted):
    """The user lacks the role, or the role does not cover the region (403)."""


class NotFound(ServiceError, portal_errors.NotFound):
    """Not there, or outside the user's scope — the same answer, so nothing leaks (404)."""


class Conflict(ServiceError, portal_errors.Conflict):
    """Someone else changed it first, or it is in a state that does not allow this (409)."""
