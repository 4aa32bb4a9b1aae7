"""Reads of the monitoring part, scoped like the exchange's lists (``cases.exchange.selectors``):
民政 / 乡村振兴 liaisons see the warnings of the regions they cover, bureau staff and auditors those
of theirs."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from cases.exchange.models import WARNING_RECIPIENTS
from cases.exchange.selectors import BUREAU_READ_ROLES, bureau_scope, liaison_departments
from portal.roles.domain import Role
from portal.roles.scoping import region_prefixes, region_q

from .models import MonitoringRun, MonitoringWarning


def warnings_for(user) -> QuerySet:
    """Warnings for 民政 / 乡村振兴 liaisons of the region, and for bureau staff and auditors."""
    qs = MonitoringWarning.objects.select_related("person", "region", "handled_by", "handled_department")
    if user.is_superuser:
        return qs
    cond = Q(pk__in=[])
    for dept in liaison_departments(user):
        if dept in WARNING_RECIPIENTS:
            prefixes = region_prefixes(user, roles=[Role.LIAISON], department=dept)
            cond |= region_q(prefixes, field="region")
    cond |= bureau_scope(user, field="region")
    return qs.filter(cond)


def can_handle_warnings(user) -> bool:
    return user.is_superuser or any(d in WARNING_RECIPIENTS for d in liaison_departments(user))


def monitoring_runs_for(user) -> QuerySet:
    qs = MonitoringRun.objects.select_related("started_by")
    if user.is_superuser:
        return qs
    return qs.filter(Q(region_code="") | region_q(region_prefixes(user, roles=BUREAU_READ_ROLES) or [], field="region_code"))
