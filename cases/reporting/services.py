"""The assistance fund's yearly budget per region (for the dashboards), entered by policy admins."""
from __future__ import annotations

from django.utils.translation import gettext as _

from cases.exchange.errors import Invalid, NotPermitted
from cases.exchange.services.figures import checked_amount, checked_year
from portal.regions.models import Region
from portal.roles.domain import Role
from portal.roles.scoping import in_scope

from .models import AssistanceBudget


def set_budget(*, acting_user, region_code: str, year, amount) -> AssistanceBudget:
    if not Region.objects.filter(pk=region_code).exists():
        raise Invalid(_("Region %(code)s does not exist.") % {"code": region_code}, field="region")
    if not in_scope(acting_user, region_code, roles=[Role.POLICY_ADMIN]):
        raise NotPermitted(_("Only a policy administrator of region %(code)s may set its budget.")
                           % {"code": region_code})
    year = checked_year(year)
    value = checked_amount(amount, field="amount", label=_("Budget"))
    budget, _created = AssistanceBudget.objects.update_or_create(
        region_id=region_code, year=year, defaults={"amount": value, "updated_by": acting_user})
    return budget
