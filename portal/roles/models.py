from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .domain import DepartmentCode, Role


class Department(models.Model):
    """A government department that takes part in the exchange (seeded; one row per kind)."""

    code = models.CharField(_("code"), max_length=32, primary_key=True, choices=DepartmentCode.choices)
    name = models.CharField(pgettext_lazy("of a region or department", "name"), max_length=50)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A user holds ``role`` in ``region`` and every region below it.

    Liaisons act for one department; the other roles belong to the medical-security bureau.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        default=DepartmentCode.MEDICAL_SECURITY,
        verbose_name=_("department"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "region", "department"], name="unique_role_assignment"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.region}"

    def clean(self):
        if self.role == Role.LIAISON and self.department_id == DepartmentCode.MEDICAL_SECURITY:
            raise ValidationError({"department": _("A department liaison must belong to a partner department.")})
        if self.role != Role.LIAISON and self.department_id != DepartmentCode.MEDICAL_SECURITY:
            raise ValidationError({"department": _("Only department liaisons belong to partner departments.")})
