"""The assistance fund's yearly budget per region (for the dashboards), entered by policy admins."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.regions.models import Region
from portal.roles.domain import Role
from portal.roles.scoping import in_scope

from ..errors import Invalid, NotPermitted
from ..models import AssistanceBudget


def set_budget(*, acting_user, region_code: str, year, amount) -> AssistanceBudget:
    if not Region.objects.filter(pk=region_code).exists():
        raise Invalid(_("Region %(code)s does not exist.") % {"code": region_code}, field="region")
    if not in_scope(acting_user, region_code, roles=[Role.POLICY_ADMIN]):
        raise NotPermitted(_("Only a policy administrator of region %(code)s may set its budget.")
                           % {"code": region_code})
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise Invalid(_("Year: enter a year such as 2024."), field="year") from None
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Invalid(_("Year: between 2000 and next year."), field="year")
    try:
        value = Decimal(str(amount).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise Invalid(_("Budget: “%(value)s” is not an amount in yuan.") % {"value": amount}, field="amount") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise Invalid(_("Budget: a non-negative amount with at most two decimals."), field="amount")
    budget, _created = AssistanceBudget.objects.update_or_create(
        region_id=region_code, year=year, defaults={"amount": value, "updated_by": acting_user})
    return budget
