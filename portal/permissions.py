"""Who may do what: every named permission of the portal, declared once (django-rules).

A permission is a predicate over the user's role assignments (``portal.roles.scoping``): holding
one of some roles (in some departments, for liaisons) anywhere — or, asked about an object or a
region code, in a region covering it (a role held in 360700 covers 3607xx)::

    from portal.permissions import allowed, permission_required

    @permission_required("exchange.view_dashboard")          # pages: 403 for everyone else
    def dashboard(request): ...

    allowed(user, "exchange.ask_confirmation", application)  # covering the case's region

    class PushViewSet(GenericViewSet):                       # the API: DeclaredPermission
        permission_required = "exchange.view_pushes"

    MenuItem(permission="exchange.view_dashboard", ...)      # the menu shows what the user may open

The same names answer ``user.has_perm(name)`` and ``{% if perms.exchange.view_dashboard %}``
(``rules.permissions.ObjectPermissionBackend`` is in ``AUTHENTICATION_BACKENDS``). Rules about one
object that need more than a role and a region — case assignment (django-guardian grants), four
eyes, a case's state — stay in their services; a predicate may call them.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import wraps

import rules
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from .roles import scoping
from .roles.domain import DepartmentCode as D
from .roles.domain import Role as R

#: Departments whose liaisons push identity lists and answer identity confirmations.
IDENTITY_DEPARTMENTS = frozenset({D.CIVIL_AFFAIRS, D.RURAL_REVITALISATION, D.VETERANS_AFFAIRS})
#: Departments whose liaisons handle monitoring warnings (因病返贫 / 因病致贫).
WARNING_DEPARTMENTS = frozenset({D.CIVIL_AFFAIRS, D.RURAL_REVITALISATION})
#: Departments whose liaisons receive the monthly enrolment-subsidy lists.
SUBSIDY_DEPARTMENTS = frozenset({D.FINANCE, D.TAX})

BUREAU = frozenset({R.CASEWORKER, R.REVIEWER, R.APPROVER, R.PAYMENT_OFFICER, R.AUDITOR})


def region_of(obj) -> str | None:
    """The region code a permission is asked about: a code itself, or an object's ``region_id`` /
    ``region_code``; ``None`` for no object (the role held anywhere)."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    for attr in ("region_id", "region_code"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return None


class Holds:
    """What a simple permission asks: one of ``roles`` (held in one of ``departments``, if any)."""

    def __init__(self, roles: Iterable[str], departments: Iterable[str] = ()):
        self.roles = frozenset(str(r) for r in roles)
        self.departments = frozenset(str(d) for d in departments)

    def test(self, user, obj=None) -> bool:
        if user is None or not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        region = region_of(obj)
        departments = sorted(self.departments)
        own = getattr(obj, "department_id", None)
        if departments and own:  # asked about a department's thing: that department's liaisons
            departments = [d for d in departments if d == str(own)]
            if not departments:
                return False
        for department in departments or [None]:
            if region is None:
                prefixes = scoping.region_prefixes(user, roles=self.roles, department=department)
                if prefixes is None or prefixes:
                    return True
            elif scoping.in_scope(user, region, roles=self.roles, department=department):
                return True
        return False


def holds(*roles: str, departments: Iterable[str] = ()) -> rules.Predicate:
    spec = Holds(roles, departments)
    name = "holds:" + ",".join(sorted(spec.roles)) + (":" + ",".join(sorted(spec.departments)) if departments else "")
    predicate = rules.Predicate(spec.test, name=name)
    predicate.holds = spec
    return predicate


# --- the roles, once ------------------------------------------------------------------------------

caseworker = holds(R.CASEWORKER)
reviewer = holds(R.REVIEWER)
approver = holds(R.APPROVER)
payment_officer = holds(R.PAYMENT_OFFICER)
policy_admin = holds(R.POLICY_ADMIN)
auditor = holds(R.AUDITOR)
identity_liaison = holds(R.LIAISON, departments=IDENTITY_DEPARTMENTS)
warning_liaison = holds(R.LIAISON, departments=WARNING_DEPARTMENTS)
subsidy_liaison = holds(R.LIAISON, departments=SUBSIDY_DEPARTMENTS)

#: Every named permission of the portal: name → predicate (``user, obj=None``).
PERMISSIONS: dict[str, rules.Predicate] = {
    # cases: queues, cases, persons, claims
    "cases.view_drafts": caseworker,
    "cases.review_case": reviewer,
    "cases.approve_case": approver,
    "cases.view_assigned": holds(R.REVIEWER, R.APPROVER),
    "cases.set_time_limits": holds(R.SUPERVISOR, R.POLICY_ADMIN),
    "cases.read_cases": holds(*BUREAU),
    "cases.view_case": holds(*BUREAU, R.LIAISON),
    "cases.do_casework": caseworker,
    "cases.view_persons": holds(*BUREAU, R.LIAISON),
    "cases.register_person": holds(R.CASEWORKER, R.REVIEWER),
    "cases.record_identity": holds(R.CASEWORKER, R.REVIEWER, R.LIAISON),
    "cases.confirm_identity": reviewer,
    # cases: payments
    "cases.pay": payment_officer,
    "cases.view_batches": holds(R.PAYMENT_OFFICER, R.APPROVER, R.AUDITOR),
    "cases.review_payment_change": holds(R.REVIEWER, R.APPROVER),
    "cases.view_recoveries": holds(R.CASEWORKER, R.REVIEWER, R.APPROVER, R.PAYMENT_OFFICER, R.AUDITOR),
    # exchange
    "exchange.upload_push": identity_liaison,
    "exchange.view_pushes": identity_liaison | holds(R.AUDITOR, R.POLICY_ADMIN),
    "exchange.answer_confirmation": identity_liaison,
    "exchange.ask_confirmation": reviewer,
    "exchange.follow_confirmations": holds(R.REVIEWER, R.APPROVER, R.AUDITOR),
    "exchange.handle_warning": warning_liaison,
    "exchange.supervise_warnings": holds(R.AUDITOR, R.POLICY_ADMIN, R.REVIEWER, R.APPROVER),
    "exchange.run_monitoring": holds(R.POLICY_ADMIN, R.REVIEWER, R.APPROVER),
    "exchange.receive_subsidy_lists": subsidy_liaison,
    "exchange.manage_enrolment_subsidy": holds(R.POLICY_ADMIN, R.AUDITOR),
    "exchange.edit_enrolment_subsidy": policy_admin,
    "exchange.view_dashboard": holds(R.AUDITOR, R.POLICY_ADMIN, R.REVIEWER, R.APPROVER, R.PAYMENT_OFFICER),
    "exchange.edit_budget": policy_admin,
    # policies
    "policies.view_policies": holds(R.POLICY_ADMIN, R.AUDITOR),
    "policies.edit_version": policy_admin,
    # audit
    "audit.view_log": auditor,
}


def _either(name: str, *names: str) -> None:
    """Declare ``name`` as any of the permissions ``names``."""
    predicate = PERMISSIONS[names[0]]
    for other in names[1:]:
        predicate = predicate | PERMISSIONS[other]
    PERMISSIONS[name] = predicate


# Pages that serve several of the above (a queue with a tab per role, a list with a tab per side).
_either("cases.view_queue", "cases.view_drafts", "cases.review_case", "cases.approve_case", "cases.view_assigned",
        "cases.pay", "cases.read_cases")
_either("exchange.view_confirmations", "exchange.answer_confirmation", "exchange.follow_confirmations")
_either("exchange.view_warnings", "exchange.handle_warning", "exchange.supervise_warnings")
_either("exchange.view_subsidy_lists", "exchange.receive_subsidy_lists", "exchange.manage_enrolment_subsidy")
_either("exchange.view_monitoring", "exchange.run_monitoring", "exchange.supervise_warnings")
_either("exchange.view_deliveries", "exchange.view_pushes", "exchange.receive_subsidy_lists", "exchange.handle_warning")
_either("exchange.use_exchange", "exchange.view_pushes", "exchange.view_confirmations", "exchange.view_warnings",
        "exchange.view_subsidy_lists", "exchange.view_deliveries")

for _name, _predicate in PERMISSIONS.items():
    rules.add_perm(_name, _predicate)


def roles_for(name: str) -> frozenset[str]:
    """The roles a simple permission (one ``holds``) stands for, for region pickers and scoped lists."""
    return PERMISSIONS[name].holds.roles


def allowed(user, name: str, obj=None) -> bool:
    """May ``user`` do ``name`` (on ``obj``, a model instance with a region or a region code)?"""
    return rules.has_perm(name, user, obj)


def require(user, name: str, obj=None, message: str | None = None) -> None:
    """Raise ``PermissionDenied`` (the portal's 403 page) unless :func:`allowed`."""
    if not allowed(user, name, obj):
        raise PermissionDenied(message or _("This page is not for your role."))


def permission_required(name: str, message: str | None = None):
    """A page for the holders of ``name``: signed in (else the login page), else 403. The view
    carries the name as ``view.permission`` (for the menu test and the permission matrix)."""
    if name not in PERMISSIONS:
        raise KeyError(f"unknown permission {name!r}")

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            require(request.user, name, message=message)
            return view(request, *args, **kwargs)

        wrapped.permission = name
        return wrapped

    return decorator


class DeclaredPermission(BasePermission):
    """The API's check: the view's ``permission_required`` name, when it declares one."""

    def has_permission(self, request, view) -> bool:
        name = getattr(view, "permission_required", None)
        return name is None or allowed(request.user, name)
