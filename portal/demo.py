"""Demo accounts: for 赣州市 and 沧州市 one user of every role (and a liaison of each department),
a province-level auditor, and a superuser. Idempotent."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.roles.domain import DepartmentCode, Role
from portal.roles.models import RoleAssignment

DEMO_PASSWORD = "Demo@2026"

REGION_PREFIXES = {"360700": "gz", "130900": "cz"}
REGION_NAMES = {"360700": "赣州", "130900": "沧州"}

ROLE_USERS: list[tuple[str, str, str, str]] = [
    # (username suffix, role, department, Chinese name suffix)
    ("caseworker", Role.CASEWORKER, DepartmentCode.MEDICAL_SECURITY, "经办人"),
    ("reviewer", Role.REVIEWER, DepartmentCode.MEDICAL_SECURITY, "审核人"),
    ("approver", Role.APPROVER, DepartmentCode.MEDICAL_SECURITY, "审批人"),
    ("payment", Role.PAYMENT_OFFICER, DepartmentCode.MEDICAL_SECURITY, "支付经办"),
    ("policy", Role.POLICY_ADMIN, DepartmentCode.MEDICAL_SECURITY, "政策管理员"),
    ("auditor", Role.AUDITOR, DepartmentCode.MEDICAL_SECURITY, "稽核"),
    ("civil", Role.LIAISON, DepartmentCode.CIVIL_AFFAIRS, "民政联络员"),
    ("rural", Role.LIAISON, DepartmentCode.RURAL_REVITALISATION, "乡村振兴联络员"),
    ("veterans", Role.LIAISON, DepartmentCode.VETERANS_AFFAIRS, "退役军人联络员"),
    ("finance", Role.LIAISON, DepartmentCode.FINANCE, "财政联络员"),
    ("tax", Role.LIAISON, DepartmentCode.TAX, "税务联络员"),
]


def demo_accounts() -> list[tuple[str, str, str, str]]:
    """(username, full name, role, region) of every demo account, superuser first."""
    rows = [("admin", "系统管理员", "superuser", "—"), ("jx_auditor", "江西省稽核", Role.AUDITOR, "360000")]
    for region, prefix in REGION_PREFIXES.items():
        for suffix, role, _dept, name in ROLE_USERS:
            rows.append((f"{prefix}_{suffix}", f"{REGION_NAMES[region]}{name}", role, region))
    return rows


@transaction.atomic
def seed_accounts() -> list[tuple[str, str, str, str]]:
    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username="admin", defaults={"full_name": "系统管理员", "is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()

    def ensure(username: str, full_name: str, role: str, region: str, department: str) -> None:
        user, made = User.objects.get_or_create(username=username, defaults={"full_name": full_name})
        if made:
            user.set_password(DEMO_PASSWORD)
            user.save()
        RoleAssignment.objects.get_or_create(user=user, role=role, region_id=region, department_id=department)

    ensure("jx_auditor", "江西省稽核", Role.AUDITOR, "360000", DepartmentCode.MEDICAL_SECURITY)
    for region, prefix in REGION_PREFIXES.items():
        for suffix, role, department, name in ROLE_USERS:
            ensure(f"{prefix}_{suffix}", f"{REGION_NAMES[region]}{name}", role, region, department)
    return demo_accounts()
