"""Recalculation marks of the settlement (``cases.services.recalc``): a person-year whose settled
claims must be settled again after an identity push or confirmation, a retroactive policy version
or a changed statistic.

The table was created by the exchange app and keeps its name (``exchange_recalcmark``).
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecalcMark(models.Model):
    """A person-year whose settled claims must be recalculated (identity or policy changed)."""

    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=120)  # push:12 | confirmation:7 | policy:360700 …
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    failed = models.BooleanField(default=False)

    class Meta:
        db_table = "exchange_recalcmark"  # created by the exchange app; the table kept its name
        verbose_name = _("recalculation mark")
        verbose_name_plural = _("recalculation marks")
        constraints = [
            models.UniqueConstraint(fields=["person", "year"], condition=models.Q(done_at__isnull=True),
                                    name="exchange_one_pending_mark"),
        ]
        indexes = [models.Index(fields=["done_at", "id"], name="exchange_mark_pending")]
