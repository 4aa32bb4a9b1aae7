"""Monitoring of high medical spending (高额医疗费用支出预警监测): runs and their 因病返贫 / 因病致贫
warnings, each handled by civil affairs or rural revitalisation with an outcome.

The tables were created by the exchange app and keep their names (``exchange_…``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import coded_choices
from policies.engine import constants as codes
from portal.audit.tracking import track

MONEY = {"max_digits": 14, "decimal_places": 2}


WarningKind = coded_choices("WarningKind", codes.ALERT_KINDS, {
    "return_to_poverty": _("return to poverty due to illness"),
    "fall_into_poverty": _("fall into poverty due to illness"),
})


class WarningOutcome(models.TextChoices):
    ASSISTED = "assisted", _("included in assistance")
    INELIGIBLE = "ineligible", _("does not qualify")
    HELPED = "helped", _("helped")
    OTHER = "other", _("other")


@track()
class MonitoringRun(models.Model):
    year = models.PositiveSmallIntegerField(_("year"))
    region_code = models.CharField(_("region"), max_length=6, blank=True)  # blank: every region
    trigger = models.CharField(_("started by"), max_length=10)  # beat | manual | command
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    person_years = models.PositiveIntegerField(_("person-years checked"), default=0)
    computed_person_years = models.PositiveIntegerField(_("person-years settled for monitoring"), default=0)
    warnings_created = models.PositiveIntegerField(_("new warnings"), default=0)
    # {"region", "problem": engine problem, "persons"?} or {"region", "no_threshold": year}; worded when
    # shown (problem_texts); runs stored before hold sentences.
    problems = models.JSONField(_("problems"), default=list)

    class Meta:
        db_table = "exchange_monitoringrun"  # moved from the exchange app; the table kept its name
        ordering = ["-started_at", "-id"]

    def problem_texts(self) -> list[str]:
        from .services import run_problem_text

        return [run_problem_text(p) for p in self.problems or []]


@track()
class MonitoringWarning(models.Model):
    """因病返贫 / 因病致贫 warning: one per kind per person-year."""

    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=20, choices=WarningKind.choices)
    claim_date = models.DateField(_("date crossed"))
    claim_ref = models.CharField(_("claim"), max_length=64, blank=True)
    threshold = models.DecimalField(_("threshold"), **MONEY)
    out_of_pocket = models.DecimalField(_("year out-of-pocket when crossed"), **MONEY)
    document = models.CharField(_("policy"), max_length=100, blank=True)
    run = models.ForeignKey(MonitoringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=WarningOutcome.choices, blank=True)
    outcome_note = models.TextField(_("note"), blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("handled by"))
    handled_department = models.ForeignKey("roles.Department", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+", verbose_name=_("handled by department"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        db_table = "exchange_monitoringwarning"  # moved from the exchange app; the table kept its name
        verbose_name = _("monitoring warning")
        verbose_name_plural = _("monitoring warnings")
        ordering = ["-year", "-claim_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "year", "kind"], name="exchange_warning_once"),
        ]
        indexes = [models.Index(fields=["region", "year", "outcome"], name="exchange_warning_list")]

    @property
    def is_open(self) -> bool:
        return not self.outcome
