"""Reporting: the assistance fund's budget a region plans for a year, read by the dashboards
(``dashboards.py``) beside the payments.

The table was created by the exchange app and keeps its name (``exchange_assistancebudget``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.audit.tracking import track

MONEY = {"max_digits": 14, "decimal_places": 2}


@track()
class AssistanceBudget(models.Model):
    """The assistance fund's budget a region plans for a year (for the dashboards)."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("budget"), **MONEY)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "exchange_assistancebudget"  # created by the exchange app; the table kept its name
        verbose_name = _("assistance budget")
        verbose_name_plural = _("assistance budgets")
        ordering = ["-year", "region_id"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="exchange_budget_once")]
