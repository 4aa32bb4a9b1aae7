from .domain import Role
from .menu import items_for
from .scoping import grants


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_roles": set(), "portal_grants": [], "portal_menu": []}
    held = grants(user)
    labels = dict(Role.choices)
    return {
        "portal_roles": {g.role for g in held},
        "portal_grants": [
            {"role": g.role, "role_label": labels.get(g.role, g.role), "region_code": g.region_code, "department": g.department}
            for g in held
        ],
        "portal_menu": items_for(user),
    }
