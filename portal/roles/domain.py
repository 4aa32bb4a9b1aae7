"""Departments, roles and hardship-identity categories of the domain (domain.md). Pure data."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class DepartmentCode(models.TextChoices):
    MEDICAL_SECURITY = "medical_security", _("Medical Security Bureau")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil Affairs Bureau")
    RURAL_REVITALISATION = "rural_revitalisation", _("Rural Revitalisation Bureau")
    VETERANS_AFFAIRS = "veterans_affairs", _("Veterans Affairs Bureau")
    FINANCE = "finance", _("Finance Bureau")
    TAX = "tax", _("Tax Bureau")


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    REVIEWER = "reviewer", _("Reviewer")
    APPROVER = "approver", _("Approver")
    PAYMENT_OFFICER = "payment_officer", _("Payment officer")
    LIAISON = "liaison", _("Department liaison")
    POLICY_ADMIN = "policy_admin", _("Policy administrator")
    AUDITOR = "auditor", _("Auditor")
    #: held beside reviewer or approver: assigns the region's cases to named colleagues and
    #: transfers them (分办转办)
    SUPERVISOR = "supervisor", _("Supervisor (assigns cases)")


class Category(models.TextChoices):
    """Hardship identity categories (救助对象类别)."""

    TEKUN = "tekun", _("Extremely poor person (tekun)")
    ORPHAN = "orphan", _("Orphan")
    DIBAO = "dibao", _("Minimum-living-allowance recipient (dibao)")
    DIBAO_EDGE = "dibao_edge", _("Member of a family at the edge of dibao")
    ILLNESS_POVERTY = "illness_poverty", _("Patient impoverished by medical spending")
    FANPIN = "fanpin", _("Person who fell back into poverty")
    JIANCE = "jiance", _("Monitored rural person at risk")
    TUOPIN = "tuopin", _("Person lifted out of poverty")
    VETERAN_PRIORITY = "veteran_priority", _("Veteran priority groups")
    OTHER_SPECIAL = "other_special", _("Other hardship set by a county-level government")


# Which department recognises (owns) each category. other_special is set by the region's own
# rule and recorded by the medical-security bureau.
CATEGORY_OWNER: dict[str, str] = {
    Category.TEKUN: DepartmentCode.CIVIL_AFFAIRS,
    Category.ORPHAN: DepartmentCode.CIVIL_AFFAIRS,
    Category.DIBAO: DepartmentCode.CIVIL_AFFAIRS,
    Category.DIBAO_EDGE: DepartmentCode.CIVIL_AFFAIRS,
    Category.ILLNESS_POVERTY: DepartmentCode.CIVIL_AFFAIRS,
    Category.FANPIN: DepartmentCode.RURAL_REVITALISATION,
    Category.JIANCE: DepartmentCode.RURAL_REVITALISATION,
    Category.TUOPIN: DepartmentCode.RURAL_REVITALISATION,
    Category.VETERAN_PRIORITY: DepartmentCode.VETERANS_AFFAIRS,
    Category.OTHER_SPECIAL: DepartmentCode.MEDICAL_SECURITY,
}


def categories_owned_by(department_code: str) -> list[str]:
    return [str(cat) for cat, owner in CATEGORY_OWNER.items() if owner == department_code]
