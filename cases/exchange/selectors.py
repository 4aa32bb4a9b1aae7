"""Reads of the exchange part. Every list goes through ``portal.roles.scoping``: a liaison sees
their own department's things in the regions they cover; bureau staff and auditors see every
department's things in theirs."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from portal.roles.domain import DepartmentCode, Role
from portal.roles.scoping import region_prefixes, region_q, user_departments

from .models import (
    SUBSIDY_RECIPIENTS,
    ConfirmationRequest,
    ConfirmationStatus,
    IdentityPush,
    OutboundDelivery,
    SubsidyList,
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


# --- subsidy ----------------------------------------------------------------------------------


def subsidy_lists_for(user) -> QuerySet:
    """Lists of the regions a 财政 / 税务 liaison, a policy admin or an auditor covers — a list
    belongs to a policy region (e.g. 赣州市); a county's liaison sees it too (with their people)."""
    qs = SubsidyList.objects.select_related("region", "created_by")
    if user.is_superuser:
        return qs
    prefixes: set[str] = set()
    for dept in liaison_departments(user):
        if dept in SUBSIDY_RECIPIENTS:
            prefixes.update(region_prefixes(user, roles=[Role.LIAISON], department=dept) or [])
    prefixes.update(region_prefixes(user, roles=(Role.POLICY_ADMIN, Role.AUDITOR)) or [])
    # The list's region lies inside the user's area, or the user's area inside the list's region.
    cond = region_q(sorted(prefixes), field="region")
    above = {p[:n] + "0" * (6 - n) for p in prefixes for n in (2, 4) if len(p) > n}
    if above:
        cond |= Q(region__code__in=sorted(above))
    return qs.filter(cond)


def subsidy_items_for(user, subsidy_list: SubsidyList) -> QuerySet:
    """The list's people the user may see (their own regions)."""
    qs = subsidy_list.items.select_related("person", "person__region")
    if user.is_superuser:
        return qs
    prefixes: set[str] = set()
    for dept in liaison_departments(user):
        if dept in SUBSIDY_RECIPIENTS:
            prefixes.update(region_prefixes(user, roles=[Role.LIAISON], department=dept) or [])
    prefixes.update(region_prefixes(user, roles=(Role.POLICY_ADMIN, Role.AUDITOR)) or [])
    return qs.filter(region_q(sorted(prefixes), field="person__region"))


def deliveries_for(user) -> QuerySet:
    qs = OutboundDelivery.objects.select_related("department", "region", "delivered_by")
    if user.is_superuser:
        return qs
    cond = department_scope(user, field="region", departments=liaison_departments(user))
    cond |= bureau_scope(user, field="region", roles=(Role.AUDITOR, Role.POLICY_ADMIN))
    return qs.filter(cond)
