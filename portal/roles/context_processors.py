from django.utils.functional import SimpleLazyObject

from .domain import DepartmentCode, Role
from .menu import items_for
from .scoping import grants


def _badges(held) -> list[dict]:
    """One badge per role assignment, naming the region (赣州市, not 360700) and, for a liaison,
    the department it speaks for. Two small queries, run only where a page shows the badges."""
    from portal.regions.models import Region

    from .models import Department

    regions = dict(Region.objects.filter(code__in={g.region_code for g in held}).values_list("code", "name"))
    departments = dict(Department.objects.filter(code__in={g.department for g in held}).values_list("code", "name"))
    labels = dict(Role.choices)
    return [
        {
            "role": g.role,
            "role_label": labels.get(g.role, g.role),
            "region_code": g.region_code,
            "region_name": regions.get(g.region_code, g.region_code),
            "department": g.department,
            "department_name": ("" if g.department == DepartmentCode.MEDICAL_SECURITY
                                else departments.get(g.department, g.department)),
        }
        for g in held
    ]


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_roles": set(), "portal_grants": [], "portal_menu": []}
    held = grants(user)
    return {
        "portal_roles": {g.role for g in held},
        "portal_grants": SimpleLazyObject(lambda: _badges(held)),
        "portal_menu": items_for(user),
    }
