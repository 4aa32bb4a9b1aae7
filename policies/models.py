"""Regional policies as versioned data, the statistics they read, and the trail of every change.

A ``PolicyVersion`` holds one policy document in the engine's format (``policies/engine``,
``policies/seed/README.md``) in ``document``; the columns beside it (region, document number,
title, framework flag, dates) are the same facts kept queryable, and the services keep both in step.
Published versions are never edited: a policy admin starts a new draft from one, changes its
parameters and publishes it, which closes the previous version the day before the new one starts.
"""
from __future__ import annotations

import copy

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit.tracking import track
from portal.models import UploadStatus


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    SUPERSEDED = "superseded", _("superseded")
    WITHDRAWN = "withdrawn", _("withdrawn")


@track()
class PolicyVersion(models.Model):
    """One version of a region's policy document (or of a provincial framework)."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="policy_versions", verbose_name=_("region")
    )
    document_number = models.CharField(_("document number"), max_length=100)
    title = models.CharField(_("title"), max_length=300)
    framework = models.BooleanField(
        _("provincial framework"), default=False,
        help_text=_("A framework fixes rules that the policies of the regions below it must keep."),
    )
    status = models.CharField(_("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    in_force_from = models.DateField(_("in force from"))
    in_force_to = models.DateField(_("in force until"), null=True, blank=True)
    retroactive_from = models.DateField(_("retroactive from"), null=True, blank=True)
    document = models.JSONField(_("policy document"))
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived",
        verbose_name=_("started from"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("published by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_simulation_id = models.PositiveBigIntegerField(
        _("simulation shown when published"), null=True, blank=True,
        help_text=_("The fund-impact simulation the publisher was shown on the publish form, if any."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["region_id", "-in_force_from", "-id"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        indexes = [models.Index(fields=["region", "status", "in_force_from"], name="policyversion_lookup")]

    def __str__(self) -> str:
        return f"{self.document_number}（{self.get_status_display()}）"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @property
    def effective_from(self):
        """The first claim date the version settles: its retroactive date when that is earlier."""
        if self.retroactive_from is not None and self.retroactive_from < self.in_force_from:
            return self.retroactive_from
        return self.in_force_from

    def engine_document(self) -> dict:
        """The version as an engine document, its top-level facts taken from the columns."""
        doc = copy.deepcopy(self.document)
        doc.update(
            region=self.region_id,
            document=self.document_number,
            title=self.title,
            framework=self.framework,
            in_force_from=self.in_force_from.isoformat(),
            in_force_to=self.in_force_to.isoformat() if self.in_force_to else None,
            retroactive_from=self.retroactive_from.isoformat() if self.retroactive_from else None,
        )
        return doc


class StatisticKind(models.TextChoices):
    CITY_INCOME = "city_income", _("Per-capita disposable income of urban and rural residents (region)")
    PROVINCE_RURAL_INCOME = "province_rural_income", _("Rural per-capita disposable income (province)")


@track()
class Statistic(models.Model):
    """A published figure a policy reads (e.g. 上年度城乡居民人均可支配收入), per region and year."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="policy_statistics", verbose_name=_("region")
    )
    kind = models.CharField(_("statistic"), max_length=40, choices=StatisticKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    value = models.DecimalField(_("value (yuan)"), max_digits=14, decimal_places=2)
    source = models.CharField(_("source"), max_length=300, help_text=_("Where the figure is published."))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("changed by"),
    )
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["region_id", "kind", "-year"]
        verbose_name = _("statistic")
        verbose_name_plural = _("statistics")
        constraints = [
            models.UniqueConstraint(fields=["region", "kind", "year"], name="unique_statistic_region_kind_year"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.get_kind_display()} {self.year}: {self.value}"

    def get_kind_display(self) -> str:
        """The figure's name in words: a statistic's, or an announced amount's (a name a policy
        document gives, e.g. annual_deductible_dibao_edge — stored in ``kind`` like a statistic)."""
        from .display import figure_name

        if self.kind in StatisticKind.values:
            return str(StatisticKind(self.kind).label)
        return figure_name(self.kind)


class ChangeAction(models.TextChoices):
    SEEDED = "seeded", _("loaded from the policy document")
    CREATED = "created", _("version started")
    PARAMETER = "parameter", _("parameter changed")
    DETAILS = "details", _("details changed")
    PUBLISHED = "published", _("published")
    CLOSED = "closed", _("in force until changed")
    SUPERSEDED = "superseded", _("superseded")
    WITHDRAWN = "withdrawn", _("draft withdrawn")
    STATISTIC_ENTERED = "statistic_entered", _("statistic entered")
    STATISTIC_CHANGED = "statistic_changed", _("statistic changed")
    EXAMPLE_ADDED = "example_added", _("worked example added")
    EXAMPLE_CHANGED = "example_changed", _("worked example changed")
    EXAMPLE_REMOVED = "example_removed", _("worked example removed")


class PolicyChange(models.Model):
    """The audit trail: who changed which version or statistic, what (old → new) and when.

    Rows are only ever added. ``path`` names the parameter (``assistance.routes[1].ratio``), the
    detail (``in_force_to``) or the statistic (``city_income 2022``) that changed.
    """

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="changes",
        verbose_name=_("policy version"),
    )
    statistic = models.ForeignKey(
        Statistic, null=True, blank=True, on_delete=models.PROTECT, related_name="changes", verbose_name=_("statistic")
    )
    action = models.CharField(_("action"), max_length=20, choices=ChangeAction.choices)
    path = models.CharField(_("what"), max_length=200, blank=True)
    label = models.CharField(_("label"), max_length=300, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("policy change")
        verbose_name_plural = _("policy changes")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.path}"

    @property
    def what(self) -> str:
        """What changed, named for the reader: the parameter's label as the document gives it, or
        the detail's or statistic's name in the reader's language."""
        if self.label:
            return self.label
        if self.action in (ChangeAction.STATISTIC_ENTERED, ChangeAction.STATISTIC_CHANGED):
            kind, _, year = self.path.partition(" ")
            if kind in StatisticKind.values:
                return f"{StatisticKind(kind).label} {year}".strip()
            from .display import figure_name

            return f"{figure_name(kind)} {year}".strip()
        if self.path in {f.name for f in PolicyVersion._meta.get_fields()}:
            return str(PolicyVersion._meta.get_field(self.path).verbose_name)
        return self.path


@track()
class PolicyExample(models.Model):
    """A worked example a version carries: a settlement input (shared/spec/settlement.md) and the
    result expected per claim (as in shared/spec/examples: per claim its category and amounts, the
    totals, the monitoring alerts), or ``expected`` null when the input must be refused. Publishing
    settles every example with the version and refuses when one differs (``policies.gate``);
    starting a version from another copies its examples, so moving one must be said by editing it."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="examples",
                                verbose_name=_("policy version"))
    name = models.CharField(_("name of the example"), max_length=100)
    note = models.TextField(_("clause or note"), blank=True)
    input = models.JSONField(_("settlement input"))
    expected = models.JSONField(_("expected result"), null=True, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["version_id", "position", "id"]
        verbose_name = _("worked example")
        verbose_name_plural = _("worked examples")
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="unique_policy_example_version_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def must_be_refused(self) -> bool:
        return self.expected is None


@track()
class PolicyText(models.Model):
    """The full text of a policy document as published, so that each parameter's clause can be
    shown with its words (``policies.clauses.clause_text``). One per region and document number;
    the seed documents' texts are loaded with the seeds, a policy admin uploads a new one."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    document_number = models.CharField(_("document number"), max_length=100)
    text = models.TextField(_("full text"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("changed by"),
    )
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("policy document text")
        verbose_name_plural = _("policy document texts")
        constraints = [
            models.UniqueConstraint(fields=["region", "document_number"], name="unique_policy_text_region_document"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.document_number}"


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to start")
    RUNNING = "running", _("running")
    DONE = "done", _("finished")
    FAILED = "failed", _("failed")


@track(exclude=["report", "document"])
class PolicySimulation(models.Model):
    """A region-wide fund-impact simulation of a draft (``policies.simulation``): every person-year
    of the region and year settled under the draft and under the versions in force, split into
    chunks run as Celery tasks. Nothing is written to cases; the report (JSON) is kept here."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="simulations",
                                verbose_name=_("policy version"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("status"), max_length=10, choices=SimulationStatus.choices,
                              default=SimulationStatus.QUEUED)
    # The draft's document as simulated (a later edit makes the report out of date).
    document = models.JSONField(_("policy document"))
    # {"regions": [codes simulated], "own_policy": [codes left out], "bounds": [[first person, last person], …]}
    plan = models.JSONField(default=dict)
    chunks_total = models.PositiveIntegerField(_("parts"), default=0)
    chunks_done = models.PositiveIntegerField(_("parts done"), default=0)
    person_years = models.PositiveIntegerField(_("person-years"), default=0)
    report = models.JSONField(_("report"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("run by"))
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("policy simulation")
        verbose_name_plural = _("policy simulations")

    def __str__(self) -> str:
        return f"{self.version_id} {self.year} {self.status}"

    @property
    def progress(self) -> int:
        """Per cent of the parts done."""
        if self.status == SimulationStatus.DONE:
            return 100
        return int(self.chunks_done * 100 / self.chunks_total) if self.chunks_total else 0

    @property
    def is_current(self) -> bool:
        """Whether the draft is still what was simulated."""
        return self.document == self.version.document


class SimulationChunk(models.Model):
    """One part's partial aggregate (merged into the report when every part is done). A part run
    twice replaces its row: the report is the same."""

    simulation = models.ForeignKey(PolicySimulation, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    partial = models.JSONField()
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["simulation", "index"], name="unique_simulation_chunk")]


class PolicyImport(models.Model):
    """One upload of a policy file (docs/policy-file.md), read by a worker
    (``policies.process_policy_import``). The file is stored when it is received (``file``,
    ``sha256``); the worker validates it whole and makes the draft (``version``), or fails the
    import and stores every problem as a row (:class:`PolicyImportProblem`: paged on the page and
    in the API, streamed as downloads)."""

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("region"), help_text=_("Empty: the region the file names."))
    filename = models.CharField(_("file name"), max_length=200)
    file = models.FileField(_("file"), upload_to="policies/imports/%Y/%m/", max_length=255)
    file_size = models.BigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("content hash"), max_length=64)
    language = models.CharField(_("language of the messages"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    failure = models.TextField(_("why the import failed"), blank=True)
    problems_count = models.PositiveIntegerField(_("problems found"), default=0)
    version = models.ForeignKey(PolicyVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                verbose_name=_("draft"))

    class Meta:
        verbose_name = _("policy import")
        verbose_name_plural = _("policy imports")
        ordering = ["-uploaded_at", "-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in (UploadStatus.DONE, UploadStatus.FAILED)

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"


class PolicyImportProblem(models.Model):
    """One problem of a refused policy file, in the order the validation found them."""

    policy_import = models.ForeignKey(PolicyImport, on_delete=models.CASCADE, related_name="problems")
    position = models.PositiveIntegerField(_("no."))
    message = models.TextField(_("problem"))

    class Meta:
        ordering = ["policy_import", "position"]
        constraints = [models.UniqueConstraint(fields=["policy_import", "position"], name="policy_import_problem_once")]
