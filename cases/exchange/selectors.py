"""Reads of the exchange part. Every list goes through ``portal.roles.scoping``: a liaison sees
their own department's things in the regions they cover; bureau staff and auditors see every
department's things in theirs."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from portal.roles.domain import DepartmentCode, Role
from portal.roles.scoping import region_prefixes, region_q, user_departments

from .models import (
    ConfirmationRequest,
    ConfirmationStatus,
    IdentityPush,
    OutboundDelivery,
)

BUREAU_READ_ROLES = (Role.AUDITOR, Role.POLICY_ADMIN, Role.REVIEWER, Role.APPROVER, Role.CASEWORKER,
                     Role.PAYMENT_OFFICER)


def liaison_departments(user) -> list[str]:
    if user.is_superuser:
        return [str(d) for d in DepartmentCode if d != DepartmentCode.MEDICAL_SECURITY]
    return sorted(user_departments(user, role=Role.LIAISON))


def department_scope(user, *, field: str, departments, department_field: str = "department") -> Q:
    """Rows of each department the user is a liaison of, in that department's regions."""
    q = Q(pk__in=[])
    for dept in departments:
        prefixes = region_prefixes(user, roles=[Role.LIAISON], department=dept)
        if prefixes is None:
            return Q()
        if prefixes:
            q |= region_q(prefixes, field=field) & Q(**{department_field: dept})
    return q


def bureau_scope(user, *, field: str, roles=BUREAU_READ_ROLES) -> Q:
    """Rows in the regions where the user holds one of ``roles`` (bureau staff and auditors)."""
    prefixes = region_prefixes(user, roles=roles)
    if prefixes is None:
        return Q()
    return region_q(prefixes, field=field) if prefixes else Q(pk__in=[])


# --- pushes ---------------------------------------------------------------------------------------


def pushes_for(user) -> QuerySet:
    qs = IdentityPush.objects.select_related("department", "region", "created_by")
    if user.is_superuser:
        return qs
    cond = department_scope(user, field="region", departments=liaison_departments(user))
    cond |= bureau_scope(user, field="region", roles=(Role.AUDITOR, Role.POLICY_ADMIN))
    return qs.filter(cond)


def push_for(user, push_id: int) -> IdentityPush | None:
    return pushes_for(user).filter(pk=push_id).first()


# --- confirmations ----------------------------------------------------------------------------


def confirmations_inbox(user, *, status: str | None = ConfirmationStatus.OPEN) -> QuerySet:
    """Requests addressed to the user's departments in the regions they cover."""
    qs = ConfirmationRequest.objects.select_related("person", "region", "department", "requested_by", "answered_by")
    if not user.is_superuser:
        qs = qs.filter(department_scope(user, field="region", departments=liaison_departments(user)))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("requested_at", "id") if status == ConfirmationStatus.OPEN else qs


def confirmations_sent(user) -> QuerySet:
    """Requests of cases in the reviewer's (or auditor's) regions."""
    qs = ConfirmationRequest.objects.select_related("person", "region", "department", "requested_by", "answered_by")
    if user.is_superuser:
        return qs
    return qs.filter(bureau_scope(user, field="region", roles=(Role.REVIEWER, Role.APPROVER, Role.AUDITOR)))


def confirmation_for(user, request_id: int) -> ConfirmationRequest | None:
    return (confirmations_inbox(user, status=None) | confirmations_sent(user)).filter(pk=request_id).first()


def open_confirmation_count(user) -> int:
    return confirmations_inbox(user).count()


def deliveries_for(user) -> QuerySet:
    qs = OutboundDelivery.objects.select_related("department", "region", "delivered_by")
    if user.is_superuser:
        return qs
    cond = department_scope(user, field="region", departments=liaison_departments(user))
    cond |= bureau_scope(user, field="region", roles=(Role.AUDITOR, Role.POLICY_ADMIN))
    return qs.filter(cond)
