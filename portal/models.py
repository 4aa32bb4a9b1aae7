from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UploadStatus(models.TextChoices):
    """Where an upload read by a worker stands (claim imports, bank return files, policy imports)."""

    PENDING = "pending", _("waiting for a worker")
    PROCESSING = "processing", _("processing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class OutboxJob(models.Model):
    """A background job recorded in the same transaction as the change that needs it.

    It is handed to Celery after commit; when the broker cannot be reached the row stays pending
    and is sent later (``portal.jobs.flush``), so no work is lost while Redis is down.
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_pending", condition=models.Q(sent_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class ListExport(models.Model):
    """One Excel export of a list page (cases, persons, pushes, warnings, payments): who, when,
    which list, with which filter and sort, how many rows. The files carry masked identity numbers;
    the filter is stored as the page had it (a full identity number never: it is masked first)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    list_name = models.CharField(_("list"), max_length=40)
    filters = models.JSONField(_("filter"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file_format = models.CharField(_("format"), max_length=5, default="xlsx")
    exported_at = models.DateTimeField(_("exported at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("list export")
        verbose_name_plural = _("list exports")
        ordering = ["-exported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.list_name} × {self.rows} @ {self.exported_at:%Y-%m-%d %H:%M}"
