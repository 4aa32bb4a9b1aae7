"""Enrolment subsidy (资助参保): the resident scheme's personal contribution a region fixes per year,
the tier a person enrolled in, each person's current subsidy, and the monthly lists of added and
exited subsidised people for finance and tax.

The tables were created by the exchange app and keep their names (``exchange_…``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.audit.tracking import track

MONEY = {"max_digits": 14, "decimal_places": 2}



@track()
class ContributionStandard(models.Model):
    """The resident scheme's personal contribution a region fixes for a year (per tier)."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    tier1_personal = models.DecimalField(_("personal contribution, tier 1"), **MONEY)
    tier2_personal = models.DecimalField(_("personal contribution, tier 2"), null=True, blank=True, **MONEY)
    reference = models.CharField(_("document reference"), max_length=100, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "exchange_contributionstandard"  # created by the exchange app; the table kept its name
        verbose_name = _("personal contribution standard")
        verbose_name_plural = _("personal contribution standards")
        ordering = ["-year", "region_id"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="exchange_contribution_once")]


@track()
class EnrolmentTier(models.Model):
    """A person enrolled in the resident scheme's tier 2 for a year (default: tier 1)."""

    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    tier = models.PositiveSmallIntegerField(_("tier"), default=1)

    class Meta:
        db_table = "exchange_enrolmenttier"  # created by the exchange app; the table kept its name
        constraints = [models.UniqueConstraint(fields=["person", "year"], name="exchange_tier_once")]


@track()
class SubsidyList(models.Model):
    """The monthly list of added and exited subsidised people of a region (for 财政 and 税务)."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    as_of = models.DateField(_("as of"))
    created_at = models.DateTimeField(_("produced at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("produced by"))
    added = models.PositiveIntegerField(_("added"), default=0)
    exited = models.PositiveIntegerField(_("exited"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    subsidised = models.PositiveIntegerField(_("subsidised people"), default=0)
    total_amount = models.DecimalField(_("total subsidy"), default=0, **MONEY)
    problems = models.JSONField(_("problems"), default=list)  # [{"message": str, "persons": n}]

    class Meta:
        db_table = "exchange_subsidylist"  # created by the exchange app; the table kept its name
        verbose_name = _("subsidised enrolment list")
        verbose_name_plural = _("subsidised enrolment lists")
        ordering = ["-year", "-month", "region_id"]
        constraints = [models.UniqueConstraint(fields=["region", "year", "month"], name="exchange_list_once")]


@track()
class Subsidy(models.Model):
    """A person's current enrolment subsidy for a year, as last listed."""

    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    # a code of the region's categories (policies.categories.categories_for), checked by the service
    category = models.CharField(_("category"), max_length=40)
    tier = models.PositiveSmallIntegerField(default=1)
    personal_contribution = models.DecimalField(**MONEY)
    amount = models.DecimalField(null=True, **MONEY)  # None: the rule's amount is unset
    problem = models.TextField(blank=True)
    document = models.CharField(max_length=100, blank=True)
    clause = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "exchange_subsidy"  # created by the exchange app; the table kept its name
        constraints = [models.UniqueConstraint(fields=["person", "year"], name="exchange_subsidy_once")]
        indexes = [models.Index(fields=["region", "year", "active"], name="exchange_subsidy_region")]

    def get_category_display(self) -> str:
        from policies.categories import label

        return label(self.category)


class ListChange(models.TextChoices):
    ADDED = "added", _("added")
    EXITED = "exited", _("exited")
    CHANGED = "changed", _("changed")


@track()
class SubsidyListItem(models.Model):
    subsidy_list = models.ForeignKey(SubsidyList, on_delete=models.CASCADE, related_name="items")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    change = models.CharField(_("change"), max_length=8, choices=ListChange.choices)
    # codes of the region's categories (policies.categories.categories_for), checked by the service
    category = models.CharField(_("category"), max_length=40, blank=True)
    previous_category = models.CharField(_("previous category"), max_length=40, blank=True)
    tier = models.PositiveSmallIntegerField(default=1)
    personal_contribution = models.DecimalField(null=True, **MONEY)
    amount = models.DecimalField(_("subsidy"), null=True, **MONEY)
    previous_amount = models.DecimalField(null=True, **MONEY)
    problem = models.TextField(blank=True)
    document = models.CharField(max_length=100, blank=True)
    clause = models.CharField(max_length=40, blank=True)

    class Meta:
        db_table = "exchange_subsidylistitem"  # created by the exchange app; the table kept its name
        ordering = ["subsidy_list_id", "change", "person_id"]

    def get_category_display(self) -> str:
        from policies.categories import label

        return label(self.category)

    def get_previous_category_display(self) -> str:
        from policies.categories import label

        return label(self.previous_category)
