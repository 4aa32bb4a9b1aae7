"""Assignment and transfer of cases (分办转办) and the time each stage may take.

A case at the review or approval stage can be assigned to one named reviewer / approver of its
region. The assignment is a django-guardian per-object permission (``cases.act_on_application``)
held through :class:`ApplicationAssignment` (guardian's direct foreign-key table for applications),
so "who may act on this case" is one indexed lookup. While it exists only the assignee acts on the
case at that stage; the others of the region still read it. It lapses when the case leaves the
stage. See ``cases.services.assignment``.

:class:`StageTimeLimit` is data: how many days a case may wait in a state in a region (and the
regions below it) before the queues flag it. No default is invented — a region without a row has
no limit. Set on the time-limits page (``cases.services.assignment.set_stage_time_limits``) by the
region's supervisors and policy administrators; every change is in its history.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from portal.audit.tracking import track

from .models import ApplicationState as S

ACT_CODENAME = "act_on_application"
#: the states a case waits in for someone's work, each a stage with its own time limit
WAITING_STATES = [(s, label) for s, label in S.choices
                  if s in (S.SUBMITTED, S.IN_REVIEW, S.AWAITING_IDENTITY, S.REVIEWED, S.APPROVED, S.RETURNED)]
ACT_PERM = f"cases.{ACT_CODENAME}"


class ApplicationAssignment(UserObjectPermissionBase):
    """Guardian's per-object permission row for an application (direct foreign key)."""

    content_object = models.ForeignKey("cases.Application", on_delete=models.CASCADE, related_name="act_grants")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("case assignment")
        verbose_name_plural = _("case assignments")


@track()
class StageTimeLimit(models.Model):
    """Days a case may wait in ``state`` in ``region`` (and below) before it is flagged as overdue."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    state = models.CharField(_("stage"), max_length=20, choices=WAITING_STATES)
    days = models.PositiveSmallIntegerField(_("days allowed"))
    basis = models.CharField(_("basis (document and clause)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("stage time limit")
        verbose_name_plural = _("stage time limits")
        ordering = ["region", "state"]
        constraints = [models.UniqueConstraint(fields=["region", "state"], name="stage_time_limit_once")]

    def __str__(self) -> str:
        return f"{self.region_id} · {self.state} · {self.days}"
