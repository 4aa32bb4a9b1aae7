"""Persons, households and hardship identities.

Other models of the case workflow (claims, applications, payments) are added next to these.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.roles.domain import Category

from . import identity_numbers


class Residence(models.TextChoices):
    RURAL = "rural", _("rural")
    URBAN = "urban", _("urban")


class Scheme(models.TextChoices):
    RESIDENT = "resident", _("resident scheme")
    EMPLOYEE = "employee", _("employee scheme")


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Household(models.Model):
    """A family (家庭) registered in a region."""

    number = models.CharField(_("household number"), max_length=40, blank=True, db_index=True)
    head_name = models.CharField(_("head of household"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.number or self.head_name or f"#{self.pk}"


class Person(models.Model):
    """A resident, identified by the 18-character resident identity number."""

    id_number = models.CharField(_("identity number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members", verbose_name=_("household")
    )
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    residence = models.CharField(_("residence"), max_length=5, choices=Residence.choices, default=Residence.RURAL)
    scheme = models.CharField(_("insurance scheme"), max_length=8, choices=Scheme.choices, default=Scheme.RESIDENT)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        indexes = [models.Index(fields=["region", "name"], name="person_region_name")]
        permissions = [("view_full_id_number", _("Can see full identity numbers"))]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"

    @property
    def masked_id_number(self) -> str:
        return identity_numbers.mask(self.id_number)


class RecognitionMethod(models.TextChoices):
    PUSHED = "pushed", _("pushed list from the department")
    CONFIRMED = "confirmed", _("confirmed by the department's liaison")
    EVIDENCE = "evidence", _("entered with evidence")


class Identity(models.Model):
    """A hardship identity held for a dated period (start, optional inclusive end)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities", verbose_name=_("person"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"), null=True, blank=True)
    department = models.ForeignKey("roles.Department", on_delete=models.PROTECT, verbose_name=_("department"))
    method = models.CharField(_("recognised by"), max_length=10, choices=RecognitionMethod.choices)
    reference = models.CharField(_("document reference"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True, help_text=_("e.g. push:42, confirmation:7"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["person_id", "start"]
        indexes = [models.Index(fields=["person", "category", "start"], name="identity_person_cat_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="identity_end_after_start",
            )
        ]

    def __str__(self) -> str:
        end = self.end.isoformat() if self.end else "…"
        return f"{self.get_category_display()} {self.start.isoformat()}–{end}"

    def active_on(self, day) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)
