"""Reads of the enrolment-subsidy part: the monthly lists of the regions a 财政 / 税务 liaison, a
policy admin or an auditor covers, and the people of a list the user may see."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from cases.exchange.models import SUBSIDY_RECIPIENTS
from cases.exchange.selectors import liaison_departments
from portal.roles.domain import Role
from portal.roles.scoping import region_prefixes, region_q

from .models import SubsidyList


def _subsidy_prefixes(user) -> set[str]:
    """The regions whose subsidy lists the user receives (财政 / 税务 liaisons) or oversees (policy
    admins, auditors)."""
    prefixes: set[str] = set()
    for dept in liaison_departments(user):
        if dept in SUBSIDY_RECIPIENTS:
            prefixes.update(region_prefixes(user, roles=[Role.LIAISON], department=dept) or [])
    prefixes.update(region_prefixes(user, roles=(Role.POLICY_ADMIN, Role.AUDITOR)) or [])
    return prefixes


def subsidy_lists_for(user) -> QuerySet:
    """Lists of the regions a 财政 / 税务 liaison, a policy admin or an auditor covers — a list
    belongs to a policy region (e.g. 赣州市); a county's liaison sees it too (with their people)."""
    qs = SubsidyList.objects.select_related("region", "created_by")
    if user.is_superuser:
        return qs
    prefixes = _subsidy_prefixes(user)
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
    prefixes = _subsidy_prefixes(user)
    return qs.filter(region_q(sorted(prefixes), field="person__region"))
