"""Region scoping: the one place that decides what a user may see and act on.

A user holds roles in regions (``RoleAssignment``); a role held in a region covers that region and
everything below it (GB/T 2260 prefixes: 360000 covers 36xxxx, 360700 covers 3607xx). Every view,
API and export filters through :func:`scope_queryset` / :func:`in_scope`; superusers see everything.

Per-object grants (django-guardian), e.g. a case handed to a named user outside their region, are
added with ``grant_perm``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from portal.regions.codes import contains, scope_prefix

from .domain import DepartmentCode


@dataclass(frozen=True)
class Grant:
    role: str
    region_code: str
    department: str

    @property
    def prefix(self) -> str:
        return scope_prefix(self.region_code)


def grants(user) -> list[Grant]:
    """The user's role assignments, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_portal_grants", None)
    if cached is None:
        cached = [
            Grant(role=role, region_code=region_id, department=department_id)
            for role, region_id, department_id in user.role_assignments.values_list("role", "region_id", "department_id")
        ]
        user._portal_grants = cached
    return cached


def forget_grants(user) -> None:
    """Drop the cached assignments (after they change within a request or a test)."""
    if hasattr(user, "_portal_grants"):
        del user._portal_grants


def _matching(user, roles: Iterable[str] | None, department: str | None) -> list[Grant]:
    wanted = set(roles) if roles is not None else None
    return [
        g
        for g in grants(user)
        if (wanted is None or g.role in wanted) and (department is None or g.department == department)
    ]


def user_roles(user, *, region_code: str | None = None) -> set[str]:
    """Roles the user holds (anywhere, or covering ``region_code``)."""
    return {g.role for g in grants(user) if region_code is None or contains(g.region_code, region_code)}


def user_departments(user, *, role: str | None = None) -> set[str]:
    return {g.department for g in grants(user) if role is None or g.role == role}


def region_prefixes(user, *, roles: Iterable[str] | None = None, department: str | None = None) -> list[str] | None:
    """Code prefixes the user covers with any of ``roles`` (None: any role).

    ``None`` means unrestricted (superuser); an empty list means nothing at all.
    """
    if user is not None and user.is_authenticated and user.is_superuser:
        return None
    prefixes = sorted({g.prefix for g in _matching(user, roles, department)}, key=len)
    kept: list[str] = []
    for prefix in prefixes:  # drop prefixes already covered by a shorter one
        if not any(prefix.startswith(k) for k in kept):
            kept.append(prefix)
    return kept


def region_q(prefixes: list[str] | None, *, field: str = "region") -> Q:
    """A Q object restricting ``field`` (a region FK or a region-code column) to the prefixes."""
    if prefixes is None:
        return Q()
    if not prefixes:
        return Q(pk__in=[])
    # A region FK (its primary key is the code, so the join is trimmed away) or a plain code column.
    lookup = f"{field}__startswith" if field.endswith("code") else f"{field}__code__startswith"
    q = Q()
    for prefix in prefixes:
        q |= Q(**{lookup: prefix})
    return q


def within(region_code: str, *, field: str = "region") -> Q:
    """A Q object keeping rows of ``region_code`` and the regions below it (360700: 3607xx) — for a
    region the user picked, or a policy region's people; not a user's scope (:func:`scope_queryset`)."""
    return region_q([scope_prefix(region_code)], field=field)


def scope_queryset(
    qs: QuerySet,
    user,
    *,
    roles: Iterable[str] | None = None,
    field: str = "region",
    department: str | None = None,
    grant_perm: str | None = None,
) -> QuerySet:
    """Restrict ``qs`` to rows whose region lies inside the user's scope for ``roles``.

    ``field`` names the region foreign key (``region``), a path to one (``person__region``) or a
    code column (``region_code``). With ``grant_perm`` (e.g. ``cases.view_application``) rows the
    user was granted that object permission on (django-guardian) are included too.
    """
    prefixes = region_prefixes(user, roles=roles, department=department)
    if prefixes is None:
        return qs
    condition = region_q(prefixes, field=field)
    if grant_perm:
        from guardian.shortcuts import get_objects_for_user

        granted = get_objects_for_user(
            user, grant_perm, klass=qs.model, accept_global_perms=False, with_superuser=False
        ).values("pk")
        condition |= Q(pk__in=granted)
    return qs.filter(condition)


def in_scope(user, region_code: str, *, roles: Iterable[str] | None = None, department: str | None = None) -> bool:
    """May the user act with one of ``roles`` on something in ``region_code``?"""
    prefixes = region_prefixes(user, roles=roles, department=department)
    if prefixes is None:
        return True
    return any(region_code.startswith(p) for p in prefixes)


def scoped_regions(user, *, roles: Iterable[str] | None = None, department: str | None = None) -> QuerySet:
    """The regions the user covers with ``roles`` (for filters and pickers)."""
    from portal.regions.models import Region

    prefixes = region_prefixes(user, roles=roles, department=department)
    qs = Region.objects.all()
    if prefixes is None:
        return qs
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(code__startswith=prefix)
    return qs.filter(q)


def is_bureau_staff(user) -> bool:
    return any(g.department == DepartmentCode.MEDICAL_SECURITY for g in grants(user))
