"""Department exchange: identity pushes, confirmation requests, outbound deliveries (monitoring
warnings: ``cases.monitoring``; enrolment subsidy: ``cases.enrolment``; budgets:
``cases.reporting``; recalculation marks: ``cases.models.RecalcMark``).

Money is ``DecimalField(max_digits=14, decimal_places=2)``; every table that belongs to a region
points at it (``region``), so scoping is a prefix match (portal.roles.scoping).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.audit.tracking import track
from portal.roles.domain import DepartmentCode

MONEY = {"max_digits": 14, "decimal_places": 2}


# ---------------------------------------------------------------------------------------------
# Inbound identity pushes
# ---------------------------------------------------------------------------------------------


class PushStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    PROCESSING = "processing", _("processing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class PushPhase(models.TextChoices):
    WAITING = "waiting", _("waiting for a worker")
    READING = "reading", _("reading the file")
    VALIDATING = "validating", _("checking the rows")
    APPLYING = "applying", _("applying the good rows")
    FINISHED = "finished", _("finished")


class Channel(models.TextChoices):
    UPLOAD = "upload", _("file upload in the browser")
    API = "api", _("API")
    DOWNLOAD = "download", _("download in the browser")


@track(exclude=["phase", "progress", "started_at"])
class IdentityPush(models.Model):
    """One list of added / exited identities sent by a department for a region.

    The same content (hash) from the same department and region is accepted once; sending it again
    shows the earlier push instead of applying it twice.
    """

    department = models.ForeignKey("roles.Department", on_delete=models.PROTECT, verbose_name=_("department"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    channel = models.CharField(_("received by"), max_length=10, choices=Channel.choices, default=Channel.UPLOAD)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    file = models.FileField(_("file"), upload_to="exchange/pushes/%Y/%m/", max_length=255)
    file_format = models.CharField(_("format"), max_length=5)  # csv | xlsx | json
    file_size = models.BigIntegerField(_("size in bytes"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    status = models.CharField(_("status"), max_length=12, choices=PushStatus.choices, default=PushStatus.QUEUED)
    phase = models.CharField(_("phase"), max_length=12, choices=PushPhase.choices, default=PushPhase.WAITING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    engine = models.CharField(_("processing path"), max_length=10, blank=True)  # generic | postgres
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rejected rows"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("rows already in effect"), default=0)
    persons_created = models.PositiveIntegerField(_("persons registered"), default=0)
    identities_opened = models.PositiveIntegerField(_("identities opened"), default=0)
    identities_backdated = models.PositiveIntegerField(_("identities backdated"), default=0)
    identities_reopened = models.PositiveIntegerField(_("identities reopened"), default=0)
    identities_closed = models.PositiveIntegerField(_("identities closed"), default=0)
    person_years_marked = models.PositiveIntegerField(_("person-years to recalculate"), default=0)
    failure = models.TextField(_("why the push failed"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("sent by")
    )
    api_token_hint = models.CharField(_("API token"), max_length=12, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity push")
        verbose_name_plural = _("identity pushes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["department", "region", "content_hash"], name="exchange_push_once"),
        ]
        indexes = [models.Index(fields=["region", "department", "-created_at"], name="exchange_push_list")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def rows_applied(self) -> int:
        return (
            self.identities_opened + self.identities_backdated + self.identities_reopened + self.identities_closed
        )

    @property
    def rows_added(self) -> int:
        """Rows that added an identity (a new one opened, the person registered if need be)."""
        return self.identities_opened

    @property
    def rows_changed(self) -> int:
        """Rows that changed an identity on record: its start moved earlier, reopened, or ended."""
        return self.identities_backdated + self.identities_reopened + self.identities_closed

    @property
    def rows_accepted(self) -> int:
        return max(0, self.rows_total - self.rows_rejected)

    @property
    def is_finished(self) -> bool:
        return self.status in (PushStatus.DONE, PushStatus.FAILED)


class PushStagingRow(models.Model):
    """Rows of a push being processed on the generic path (deleted when the push is finished)."""

    push_id = models.BigIntegerField(db_index=False)
    row_no = models.PositiveIntegerField()
    id_number = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=40)
    action = models.CharField(max_length=5)  # add | exit
    effective = models.DateField(null=True)
    reference = models.CharField(max_length=200)
    region_code = models.CharField(max_length=6)
    residence = models.CharField(max_length=5, blank=True, default="")  # "": the file does not say
    scheme = models.CharField(max_length=8, blank=True, default="")
    errors = models.JSONField(null=True)
    raw = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["push_id", "row_no"], name="exchange_stage_row"),
            models.Index(fields=["push_id", "id_number", "category", "row_no"], name="exchange_stage_key"),
        ]


@track()
class PushRejectedRow(models.Model):
    """A row of a push that was not applied, with the values as sent and every reason."""

    push = models.ForeignKey(IdentityPush, on_delete=models.CASCADE, related_name="rejected_rows")
    row_no = models.PositiveIntegerField(_("row"))
    id_number = models.CharField(_("identity number"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=200, blank=True)
    effective = models.CharField(_("effective date"), max_length=200, blank=True)
    reference = models.CharField(_("document reference"), max_length=200, blank=True)
    region_code = models.CharField(_("region code"), max_length=200, blank=True)
    # [{"field": "id_number", "code": "id_check", "params": {...}}, ...] in column order
    errors = models.JSONField(_("reasons"))

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["push_id", "row_no"]
        indexes = [models.Index(fields=["push", "row_no"], name="exchange_rejected_row")]


class ChangeAction(models.TextChoices):
    OPENED = "opened", _("opened")
    BACKDATED = "backdated", _("start backdated")
    REOPENED = "reopened", _("reopened")
    CLOSED = "closed", _("closed")


class IdentityChange(models.Model):
    """What an exchange did to an identity period (the audit trail of pushes and confirmations)."""

    identity = models.ForeignKey("cases.Identity", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(_("change"), max_length=10, choices=ChangeAction.choices)
    old_start = models.DateField(null=True, blank=True)
    old_end = models.DateField(null=True, blank=True)
    new_start = models.DateField(null=True, blank=True)
    new_end = models.DateField(null=True, blank=True)
    reference = models.CharField(_("document reference"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=60)  # push:12, confirmation:7
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity change")
        verbose_name_plural = _("identity changes")
        indexes = [models.Index(fields=["person", "created_at"], name="exchange_change_person")]


# ---------------------------------------------------------------------------------------------
# Identity confirmation requests
# ---------------------------------------------------------------------------------------------


class ConfirmationStatus(models.TextChoices):
    OPEN = "open", _("waiting for the department")
    CONFIRMED = "confirmed", _("confirmed")
    REJECTED = "rejected", pgettext_lazy("identity confirmation", "rejected")


@track()
class ConfirmationRequest(models.Model):
    """A reviewer asks the owning department of the person's region to confirm an identity."""

    application = models.ForeignKey("cases.Application", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("application"))
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    department = models.ForeignKey("roles.Department", on_delete=models.PROTECT, verbose_name=_("department"))
    category = models.CharField(_("category"), max_length=40)  # a code of the region's categories
    claimed_start = models.DateField(_("claimed start"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ConfirmationStatus.choices,
                              default=ConfirmationStatus.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("asked by"))
    requested_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("answered by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    confirmed_start = models.DateField(_("confirmed start"), null=True, blank=True)
    confirmed_end = models.DateField(_("confirmed end"), null=True, blank=True)
    reference = models.CharField(_("document reference"), max_length=100, blank=True)
    reject_reason = models.TextField(_("reason for rejecting"), blank=True)
    identity = models.ForeignKey("cases.Identity", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("identity"))

    class Meta:
        verbose_name = _("identity confirmation request")
        verbose_name_plural = _("identity confirmation requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["application"], condition=models.Q(status="open"),
                                    name="exchange_one_open_confirmation"),
        ]
        indexes = [models.Index(fields=["department", "status", "region"], name="exchange_confirm_inbox")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    def get_category_display(self) -> str:
        from policies.categories import label

        return label(self.category)


# ---------------------------------------------------------------------------------------------
# Outbound deliveries
# ---------------------------------------------------------------------------------------------


class DeliveryKind(models.TextChoices):
    WARNINGS = "warnings", _("monitoring warnings")
    SUBSIDY_LIST = "subsidy_list", _("subsidised enrolment list")


@track()
class OutboundDelivery(models.Model):
    """A list handed to a department: what, to whom, when, by whom (or which API token)."""

    kind = models.CharField(_("list"), max_length=20, choices=DeliveryKind.choices)
    department = models.ForeignKey("roles.Department", on_delete=models.PROTECT, verbose_name=_("department"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    period = models.CharField(_("period"), max_length=20)  # 2024-05 or 2024
    file_format = models.CharField(_("format"), max_length=5)  # csv | xlsx | json
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    subsidy_list = models.ForeignKey("enrolment.SubsidyList", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="deliveries")
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("by"))
    api_token_hint = models.CharField(_("API token"), max_length=12, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbound delivery")
        verbose_name_plural = _("outbound deliveries")
        ordering = ["-delivered_at", "-id"]


# Departments that receive each outbound list.
WARNING_RECIPIENTS = (DepartmentCode.CIVIL_AFFAIRS, DepartmentCode.RURAL_REVITALISATION)
SUBSIDY_RECIPIENTS = (DepartmentCode.FINANCE, DepartmentCode.TAX)
