"""Who may do what with cases, persons and payments — on top of ``portal.roles.scoping``.

Every check here goes through the scoping helpers (a role held in a region covers that region and
everything below it; superusers hold every role everywhere).

Full identity numbers (``cases.view_full_id_number``): lists, exports and the API show masks. The
full number is shown, one person at a time and logged in ``IdNumberView``, to

* users granted the permission itself (a global Django permission, directly or through a group),
  for persons in a region where they hold any bureau role — for fund supervision or data repair;
* **reviewers and approvers** in the person's region (:data:`FULL_ID_ROLES`): they compare the
  number with the documents and with the departments' answers before money is paid.

Caseworkers, payment officers, auditors and liaisons see masks only; a caseworker typing a full
number into the search still finds the person (the result is masked).
"""
from __future__ import annotations

from collections.abc import Iterable

from portal import permissions
from portal.roles.domain import Role
from portal.roles.scoping import in_scope, region_prefixes

from .services.errors import CaseCode, NotPermitted

# The roles behind the named permissions of portal.permissions (declared there once), for the
# scoped lists and region pickers that need them as roles.
BUREAU_ROLES = permissions.BUREAU
#: May read applications, claims and settlements of their region.
CASE_READ_ROLES = permissions.roles_for("cases.read_cases")
#: May read persons (masked) of their region; liaisons need them to confirm identities.
PERSON_READ_ROLES = permissions.roles_for("cases.view_persons")
#: May register and correct persons.
PERSON_WRITE_ROLES = permissions.roles_for("cases.register_person")
#: May record an identity on evidence (the owning department's liaison may record its own).
IDENTITY_EVIDENCE_ROLES = frozenset({Role.CASEWORKER, Role.REVIEWER})
#: May enter and import claims, create and edit applications.
CASEWORK_ROLES = permissions.roles_for("cases.do_casework")
#: May build payment batches, export them and record the bank's results.
PAYMENT_ROLES = permissions.roles_for("cases.pay")
#: May read payment batches.
PAYMENT_READ_ROLES = permissions.roles_for("cases.view_batches")
#: See the full identity number of persons in their region (each view logged).
FULL_ID_ROLES = frozenset({Role.REVIEWER, Role.APPROVER})

#: Which roles see a person's contact and bank fields (issue 13: 财政, 税务 and 退役军人 liaisons
#: saw every person's account and phone). One declaration, used by the person page and the API.
#: Liaisons of any department need neither: they push and confirm identities.
PERSON_FIELD_ROLES = {
    "phone": BUREAU_ROLES,
    "bank_name": BUREAU_ROLES,
    "bank_account": BUREAU_ROLES,
    "account_holder": BUREAU_ROLES,
}
FULL_ID_PERMISSION = "cases.view_full_id_number"


def holds(user, roles: Iterable[str], region_code: str, *, department: str | None = None) -> bool:
    """Does ``user`` hold one of ``roles`` in a region covering ``region_code``?"""
    if user is None or not user.is_authenticated:
        return False
    return in_scope(user, region_code, roles=list(roles), department=department)


def holds_anywhere(user, roles: Iterable[str], *, department: str | None = None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    prefixes = region_prefixes(user, roles=list(roles), department=department)
    return prefixes is None or bool(prefixes)


def require(user, roles: Iterable[str], region_code: str, *, department: str | None = None) -> None:
    """Raise :class:`NotPermitted` unless ``user`` holds one of ``roles`` covering the region."""
    roles = list(roles)
    if holds(user, roles, region_code, department=department):
        return
    from django.utils.translation import gettext as _

    from portal.roles.domain import Role as R

    labels = "、".join(str(dict(R.choices).get(r, r)) for r in roles)
    if holds_anywhere(user, roles, department=department):
        raise NotPermitted(
            _("Your role (%(roles)s) does not cover region %(region)s.") % {"roles": labels, "region": region_code},
            code=CaseCode.OUT_OF_REGION,
        )
    raise NotPermitted(_("This needs the role: %(roles)s.") % {"roles": labels}, code=CaseCode.ROLE_REQUIRED)


def can_view_full_id(user, person) -> bool:
    """May ``user`` see ``person``'s full identity number (see the module docstring)?"""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    region = person.region_id
    if holds(user, FULL_ID_ROLES, region):
        return True
    return user.has_perm(FULL_ID_PERMISSION) and holds(user, BUREAU_ROLES, region)


def hidden_person_fields(user, region_code: str) -> frozenset[str]:
    """The person fields ``user`` may not see for a person of ``region_code`` (PERSON_FIELD_ROLES)."""
    if getattr(user, "is_superuser", False):
        return frozenset()
    return frozenset(name for name, roles in PERSON_FIELD_ROLES.items() if not holds(user, roles, region_code))
