"""The case workflow's data: persons, households, hardship identities, claims, applications and
their events, settlements (one per calculation, with a line per claim), the allocation ledger,
adjustments (补发/追回), payment batches and their lines, and the log of full identity-number views.

Writes go through ``cases.services``; reads through ``cases.selectors``. The guarantees that matter
for money are also database constraints (see each model's ``Meta.constraints``):

* a claim belongs to at most one open application (``claim_one_open_application``);
* an application has at most one current settlement (``settlement_one_current``);
* an application's regular payment and each adjustment have at most one live (pending or paid)
  payment line (``payment_one_live_regular``, ``payment_one_live_per_adjustment``);
* an adjustment is created once per settlement hash (``adjustment_once_per_basis``);
* approval allocates each claim once per application (``allocation_once_per_approval``).
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from policies.engine import constants as codes
from portal.audit.tracking import track
from portal.models import UploadStatus  # noqa: F401 - the one list of an upload's states, used here by that name

from . import identity_numbers


def category_label(code: str) -> str:
    """A category column holds a code of the national list or of a region's policy
    (``policies.categories``), checked by the services against the region — never fixed choices."""
    from policies.categories import label

    return label(code)


def coded_choices(name: str, codes, labels: dict, *, base=models.TextChoices):
    """Django choices whose values are a code list of the engine (``policies.engine.constants``, the
    one definition that models, engine, forms and serializers share), with the portal's labels:
    member ``X`` is code ``"x"``. A code without a label (or a label without a code) is an error."""
    if set(codes) != set(labels):
        raise ValueError(f"{name}: labels for {sorted(map(str, labels))}, codes {sorted(map(str, codes))}")
    members = [(str(code).upper() if isinstance(code, str) else _NUMBER_NAMES[code], (code, labels[code]))
               for code in codes]
    return base(name, members, module=__name__)


_NUMBER_NAMES = {1: "ONE", 2: "TWO", 3: "THREE"}

Residence = coded_choices("Residence", codes.RESIDENCES, {"rural": _("rural"), "urban": _("urban")})
Scheme = coded_choices("Scheme", codes.SCHEMES, {"resident": _("resident scheme"), "employee": _("employee scheme")})

#: A person registered by a department's push whose file did not give the residence (户籍性质) or
#: the scheme (参保类型) holds "" there: 待核实 until a clerk confirms it (never an assumed value).
UNVERIFIED = ""
RESIDENCE_CHOICES = [(UNVERIFIED, pgettext_lazy("person detail", "to be verified")), *Residence.choices]
SCHEME_CHOICES = [(UNVERIFIED, pgettext_lazy("person detail", "to be verified")), *Scheme.choices]


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


@track()
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


def id_mask_key(number: str) -> str:
    """First four and last four characters: what a masked number (``3607**********123X``) keeps."""
    number = identity_numbers.normalise(number)
    return (number[:4] + number[-4:]) if len(number) > 8 else ""


@track()
class Person(models.Model):
    """A resident, identified by the 18-character resident identity number.

    ``id_mask_key`` (first 4 + last 4 characters, kept by :meth:`save`) makes a masked-number
    search an index lookup; a full-number search uses the unique index on ``id_number``.
    """

    id_number = models.CharField(_("identity number"), max_length=18, unique=True)
    id_mask_key = models.CharField(_("masked number key"), max_length=8, db_index=True, editable=False, default="")
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members", verbose_name=_("household")
    )
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name=_("region"))
    residence = models.CharField(_("residence"), max_length=5, choices=RESIDENCE_CHOICES, default=Residence.RURAL,
                                 blank=True)
    scheme = models.CharField(_("insurance scheme"), max_length=8, choices=SCHEME_CHOICES, default=Scheme.RESIDENT,
                              blank=True)
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

    def save(self, *args, **kwargs):
        self.id_number = identity_numbers.normalise(self.id_number)
        self.id_mask_key = id_mask_key(self.id_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "id_number" in update_fields:
            kwargs["update_fields"] = set(update_fields) | {"id_mask_key"}
        super().save(*args, **kwargs)

    @property
    def masked_id_number(self) -> str:
        return identity_numbers.mask(self.id_number)

    @property
    def unverified_fields(self) -> list[str]:
        """The person's details still to be verified (待核实): ``residence`` and/or ``scheme``."""
        return [f for f in ("residence", "scheme") if getattr(self, f) == UNVERIFIED]


class RecognitionMethod(models.TextChoices):
    PUSHED = "pushed", _("pushed list from the department")
    CONFIRMED = "confirmed", _("confirmed by the department's liaison")
    EVIDENCE = "evidence", _("entered with evidence")


@track()
class Identity(models.Model):
    """A hardship identity held for a dated period (start, optional inclusive end)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities", verbose_name=_("person"))
    category = models.CharField(_("category"), max_length=40)
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

    def get_category_display(self) -> str:
        return category_label(self.category)


class IdentityEntryStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a second reviewer")
    CONFIRMED = "confirmed", _("confirmed by a second reviewer")
    REJECTED = "rejected", _("rejected by a second reviewer")


@track()
class IdentityEntry(models.Model):
    """An identity period entered by bureau staff (a caseworker or reviewer, on evidence, through the
    web or the API). It counts in no settlement while ``pending``: a second person holding the
    reviewer role in the person's region confirms it (an :class:`Identity` is then recorded, method
    evidence, ``source`` = ``entry:<id>``) or rejects it with a reason. Department pushes and the
    owning department's liaison record identities directly (they are the department's word)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identity_entries", verbose_name=_("person"))
    category = models.CharField(_("category"), max_length=40)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"), null=True, blank=True)
    reference = models.CharField(_("document reference"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=IdentityEntryStatus.choices,
                              default=IdentityEntryStatus.PENDING)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("entered by"))
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    identity = models.ForeignKey(Identity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("identity recorded"))

    class Meta:
        verbose_name = _("identity entry")
        verbose_name_plural = _("identity entries")
        ordering = ["entered_at", "id"]
        indexes = [models.Index(fields=["status", "person"], name="identity_entry_status_person")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="identity_entry_end_after_start",
            )
        ]

    def __str__(self) -> str:
        end = self.end.isoformat() if self.end else "…"
        return f"{self.get_category_display()} {self.start.isoformat()}–{end}"

    def get_category_display(self) -> str:
        return category_label(self.category)


MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class IdNumberView(models.Model):
    """One view of a person's full identity number: who saw whose number, when, where and why.

    Written by ``cases.services.persons.reveal_id_number`` (screen/API), by exports that carry
    full numbers (one row per person exported) and by every view of a push's rejected rows (page,
    API, download: ``push``, no person; the numbers there are masked, malformed ones too, but the
    rows are someone's data all the same). Never edited or deleted by the portal.
    """

    class Channel(models.TextChoices):
        SCREEN = "screen", _("screen")
        API = "api", _("API")
        EXPORT = "export", _("export")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user"))
    #: None for a view of numbers that belong to no registered person: a push's rejected rows
    #: (``push`` says which push).
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="id_number_views",
                               verbose_name=_("person"))
    push = models.ForeignKey("exchange.IdentityPush", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("identity push"))
    viewed_at = models.DateTimeField(_("viewed at"), default=timezone.now, db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    context = models.CharField(_("where"), max_length=200, help_text=_("e.g. case 360702-2024-000012, payment batch 7"))
    reason = models.CharField(_("why"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("identity number view")
        verbose_name_plural = _("identity number views")
        ordering = ["-viewed_at"]
        indexes = [models.Index(fields=["person", "viewed_at"], name="idview_person_at")]

    def __str__(self) -> str:
        whose = self.person_id if self.person_id else f"push #{self.push_id}"
        return f"{self.user} → {whose} @ {self.viewed_at:%Y-%m-%d %H:%M}"


# --- Claims -----------------------------------------------------------------------------------


ClaimKind = coded_choices("ClaimKind", codes.KINDS, {
    "inpatient": _("inpatient"),
    "outpatient_general": _("general outpatient"),
    "outpatient_chronic": _("chronic / special outpatient"),
})
Location = coded_choices("Location", codes.LOCATIONS, {
    "county": _("inside the county"),
    "city": _("inside the city"),
    "province": _("inside the province"),
    "out_of_province": _("outside the province"),
})
HospitalLevel = coded_choices("HospitalLevel", codes.HOSPITAL_LEVELS, {1: _("level 1"), 2: _("level 2"), 3: _("level 3")},
                              base=models.IntegerChoices)


class ClaimSource(models.TextChoices):
    MANUAL = "manual", _("entered by hand")
    IMPORT = "import", _("imported")


class ClaimImport(models.Model):
    """One upload of the national platform's settlement records, with its row report.

    The file is stored when it is received (``file``, ``sha256``) and read by a worker
    (``cases.process_claim_import``), which fills the counts and the rejected rows
    (:class:`ClaimImportError`, row numbers as Excel shows them: the header is row 1). The same
    file from the same caseworker is received once (``claim_import_once``): sending it again
    answers with the earlier import; importing it again on purpose is a new ``attempt``.
    """

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    filename = models.CharField(_("file name"), max_length=200)
    file = models.FileField(_("file"), upload_to="cases/claim_imports/%Y/%m/", max_length=255, blank=True)
    file_size = models.BigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("content hash"), max_length=64, blank=True)
    attempt = models.PositiveSmallIntegerField(_("import of this file"), default=1)
    file_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=UploadStatus.choices, default=UploadStatus.DONE)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    failure = models.TextField(_("why the import failed"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_created = models.PositiveIntegerField(_("new claims"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated claims"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("already imported, unchanged"), default=0)
    rows_failed = models.PositiveIntegerField(_("rows with errors"), default=0)
    errors_count = models.PositiveIntegerField(_("problems found"), default=0)

    class Meta:
        verbose_name = _("claim import")
        verbose_name_plural = _("claim imports")
        ordering = ["-uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["uploaded_by", "sha256", "attempt"], condition=~Q(sha256=""),
                                    name="claim_import_once"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"

    @property
    def is_finished(self) -> bool:
        return self.status in (UploadStatus.DONE, UploadStatus.FAILED)

    @property
    def errors(self) -> list[dict]:
        """Every problem as ``{"row", "column", "label", "value", "message"}`` — the whole list, for
        small reports and tests; pages, downloads and the API page through ``row_errors``."""
        return list(self.row_errors.order_by("row", "id").values("row", "column", "label", "value", "message"))


class ClaimImportError(models.Model):
    """A problem of one row of a claim import (a row may have several)."""

    claim_import = models.ForeignKey(ClaimImport, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=100)
    label = models.CharField(_("column label"), max_length=100, blank=True)
    value = models.CharField(_("value in the file"), max_length=100, blank=True)
    message = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("claim import problem")
        verbose_name_plural = _("claim import problems")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["claim_import", "row", "id"], name="claim_import_error_row")]


@track()
class Claim(models.Model):
    """One settlement at a hospital (one ``setlinfo`` record): the input of a settlement.

    ``basic_paid`` / ``critical_paid`` may be empty: the engine then computes them from the policy.
    ``maf_pay`` is the assistance already paid at the hospital (one-stop settlement), deducted from
    what a case pays. ``region`` is the person's region when the claim was recorded (for scoping).
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="claims", verbose_name=_("person"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    setl_id = models.CharField(_("settlement id"), max_length=40, null=True, blank=True, unique=True)
    date = models.DateField(_("settlement date"))
    kind = models.CharField(_("kind"), max_length=20, choices=ClaimKind.choices)
    special_disease = models.BooleanField(_("special disease"), default=False)
    hospital_level = models.PositiveSmallIntegerField(_("hospital level"), choices=HospitalLevel.choices, default=1)
    location = models.CharField(_("where treated"), max_length=16, choices=Location.choices, default=Location.COUNTY)
    referral_compliant = models.BooleanField(_("referral compliant"), default=True)
    total = models.DecimalField(_("total cost"), **MONEY)
    policy_scope = models.DecimalField(_("in policy scope"), **MONEY)
    basic_paid = models.DecimalField(_("basic insurance paid"), null=True, blank=True, **MONEY)
    critical_paid = models.DecimalField(_("critical-illness insurance paid"), null=True, blank=True, **MONEY)
    maf_pay = models.DecimalField(_("assistance paid at the hospital"), default=ZERO, **MONEY)
    hospital_name = models.CharField(_("hospital"), max_length=100, blank=True)
    hospital_code = models.CharField(_("hospital code"), max_length=30, blank=True)
    med_type = models.CharField(_("national medical type"), max_length=10, blank=True)
    insutype = models.CharField(_("national insurance type"), max_length=10, blank=True)
    enrolment_area = models.CharField(_("area of enrolment"), max_length=6, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ClaimSource.choices, default=ClaimSource.MANUAL)
    claim_import = models.ForeignKey(
        ClaimImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="claims", verbose_name=_("import")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # A claim is never deleted: one entered by mistake (or twice) is voided with a reason and stops
    # counting in every settlement (``cases.services.claims.void_claim``).
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("voided by")
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=200, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["person", "date"], name="claim_person_date"),
            models.Index(fields=["region", "date"], name="claim_region_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="claim_total_not_negative"),
            models.CheckConstraint(condition=Q(policy_scope__gte=0), name="claim_scope_not_negative"),
            models.CheckConstraint(condition=Q(policy_scope__lte=models.F("total")), name="claim_scope_within_total"),
            models.CheckConstraint(condition=Q(basic_paid__isnull=True) | Q(basic_paid__gte=0), name="claim_basic_not_negative"),
            models.CheckConstraint(
                condition=Q(critical_paid__isnull=True) | Q(critical_paid__gte=0), name="claim_critical_not_negative"
            ),
            models.CheckConstraint(condition=Q(maf_pay__gte=0), name="claim_maf_not_negative"),
            models.CheckConstraint(condition=Q(hospital_level__gte=1, hospital_level__lte=3), name="claim_level_1_to_3"),
            models.CheckConstraint(condition=Q(voided_at__isnull=True) | ~Q(void_reason=""), name="claim_void_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()} {self.total}"

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    @property
    def payload_id(self) -> str:
        """The claim's id in a settlement payload."""
        return f"c{self.pk}"


# --- Applications and their workflow -------------------------------------------------------------


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    AWAITING_IDENTITY = "awaiting_identity", _("awaiting identity confirmation")
    REVIEWED = "reviewed", _("reviewed")
    APPROVED = "approved", _("approved")
    IN_PAYMENT = "in_payment", _("in payment")
    PAID = "paid", _("paid")
    RETURNED = "returned", _("returned for correction")
    REJECTED = "rejected", pgettext_lazy("case state", "rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


#: States whose settlement is still recalculated (before approval).
CALCULABLE_STATES = frozenset(
    {
        ApplicationState.DRAFT,
        ApplicationState.SUBMITTED,
        ApplicationState.IN_REVIEW,
        ApplicationState.AWAITING_IDENTITY,
        ApplicationState.REVIEWED,
        ApplicationState.RETURNED,
    }
)
#: Approved or later: the settlement is frozen, differences become adjustments.
SETTLED_STATES = frozenset({ApplicationState.APPROVED, ApplicationState.IN_PAYMENT, ApplicationState.PAID})
#: Final states: the application no longer holds its claims.
FINAL_STATES = frozenset({ApplicationState.PAID, ApplicationState.REJECTED, ApplicationState.WITHDRAWN})
#: The caseworker may change the claims, the tilted flag and the payee.
EDITABLE_STATES = frozenset({ApplicationState.DRAFT, ApplicationState.RETURNED})


class PayeeType(models.TextChoices):
    PERSON = "person", _("the person's bank account")
    HOSPITAL = "hospital", _("the hospital (direct settlement)")


@track()
class Application(models.Model):
    """A case (救助申请): a person's request for assistance on claims of one calendar year.

    ``calc_revision`` grows whenever something the settlement depends on changes (claims, the
    person's identities, the tilted flag); a settlement is usable for review and approval only
    when it was computed for the application's current revision.
    """

    number = models.CharField(_("case number"), max_length=30, unique=True, null=True, blank=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="applications", verbose_name=_("person"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    state = models.CharField(_("state"), max_length=20, choices=ApplicationState.choices, default=ApplicationState.DRAFT)
    tilted_applied = models.BooleanField(_("applied for tilted assistance"), default=False)
    payee_type = models.CharField(_("paid to"), max_length=10, choices=PayeeType.choices, default=PayeeType.PERSON)
    payee_name = models.CharField(_("hospital payee"), max_length=100, blank=True)
    payee_bank = models.CharField(_("hospital's bank"), max_length=100, blank=True)
    payee_account = models.CharField(_("hospital's account"), max_length=40, blank=True)
    agent_name = models.CharField(_("agent (on behalf of the person)"), max_length=50, blank=True)
    agent_relation = models.CharField(_("agent's relation"), max_length=30, blank=True)
    agent_phone = models.CharField(_("agent's phone"), max_length=32, blank=True)
    note = models.TextField(_("note"), blank=True)
    pending_category = models.CharField(_("identity asked of a department"), max_length=40, blank=True)
    calc_revision = models.PositiveIntegerField(_("calculation revision"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    state_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("approved by")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_settlement = models.ForeignKey(
        "Settlement", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("settlement approved")
    )
    amount_approved = models.DecimalField(_("amount approved"), null=True, blank=True, **MONEY)
    current_batch = models.ForeignKey(
        "PaymentBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("open payment batch")
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # The payee frozen when the case is approved (``cases.services.payees.freeze``): every payment of
    # the case (its assistance and its 补发) goes there. A later change of the person's account does
    # not reach the case unless a payee change passes review and approval (``PayeeChange``).
    approved_payee_type = models.CharField(_("approved payee: paid to"), max_length=10, choices=PayeeType.choices, blank=True)
    approved_payee_name = models.CharField(_("approved payee"), max_length=100, blank=True)
    approved_payee_bank = models.CharField(_("approved payee's bank"), max_length=100, blank=True)
    approved_payee_account = models.CharField(_("approved payee's account"), max_length=40, blank=True)
    approved_payee_id_number = models.CharField(_("approved payee's identity number"), max_length=18, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-id"]
        permissions = [("act_on_application", "May act on this case (assigned to them)")]
        indexes = [
            models.Index(fields=["state", "region", "id"], name="app_state_region_id"),
            models.Index(fields=["region", "id"], name="app_region_id"),
            models.Index(fields=["created_by", "state", "id"], name="app_creator_state_id"),
            models.Index(fields=["person", "year"], name="app_person_year"),
            models.Index(fields=["year", "region", "id"], name="app_year_region_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="application_year_range"),
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "in_payment", "paid"]) | Q(approved_settlement__isnull=False),
                name="application_settled_has_settlement",
            ),
            models.CheckConstraint(
                condition=Q(current_batch__isnull=True) | Q(state="in_payment"), name="application_batch_only_in_payment"
            ),
        ]

    def get_pending_category_display(self) -> str:
        return category_label(self.pending_category)

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


@track()
class ApplicationClaim(models.Model):
    """A claim attached to an application. ``active`` is cleared when the application reaches a
    final state (paid, rejected, withdrawn), so the claim may then join another application; while
    active, the partial unique index keeps the claim in one open application only."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="claim_links")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="application_links")
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("claim of an application")
        verbose_name_plural = _("claims of applications")
        constraints = [
            models.UniqueConstraint(fields=["application", "claim"], name="application_claim_once"),
            models.UniqueConstraint(fields=["claim"], condition=Q(active=True), name="claim_one_open_application"),
        ]


class ApplicationEvent(models.Model):
    """One transition of an application: who (empty: the system), when, from, to, action, comment."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=30)
    from_state = models.CharField(pgettext_lazy("state change", "from"), max_length=20, choices=ApplicationState.choices)
    to_state = models.CharField(pgettext_lazy("state change", "to"), max_length=20, choices=ApplicationState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        ordering = ["id"]
        indexes = [models.Index(fields=["application", "id"], name="event_application_id")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_state} → {self.to_state} ({self.action})"

    @property
    def assignment_parts(self) -> tuple[str, str]:
        """An assignment's or transfer's (``"from → to"``, reason), from its comment."""
        who, _sep, reason = self.comment.partition("\n")
        return who, reason


# --- Settlements -------------------------------------------------------------------------------


class SettlementStatus(models.TextChoices):
    CURRENT = "current", _("current")
    SUPERSEDED = "superseded", _("superseded")


class SettlementKind(models.TextChoices):
    CASE = "case", _("case settlement")
    RECALCULATION = "recalculation", _("recalculation after approval")


@track(exclude=["payload", "result", "year_totals", "alerts"])
class Settlement(models.Model):
    """One calculation of a case: the person's whole calendar year of claims in the case's region.

    ``payload``/``result`` are the engine's input and output JSON (settlement.md). The money fields
    sum the application's own claims; ``payable`` = assistance + tilted − ``maf_paid`` (paid at the
    hospital) − ``paid_before`` (committed by earlier cases and adjustments for the same claims).
    A refused calculation keeps the engine's problems in ``errors`` and has no lines and no amounts.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="settlements")
    kind = models.CharField(_("kind"), max_length=16, choices=SettlementKind.choices, default=SettlementKind.CASE)
    status = models.CharField(_("status"), max_length=12, choices=SettlementStatus.choices, default=SettlementStatus.CURRENT)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    revision = models.PositiveIntegerField(_("calculation revision"), default=0)
    year = models.PositiveSmallIntegerField(_("year"))
    reason = models.CharField(_("why calculated"), max_length=200, blank=True)
    input_hash = models.CharField(_("input hash"), max_length=64)
    result_hash = models.CharField(_("result hash"), max_length=64, blank=True)
    settlement_hash = models.CharField(_("settlement hash"), max_length=64)
    payload = models.JSONField(_("engine input"))
    result = models.JSONField(_("engine output"), null=True, blank=True)
    # Each refusal is a problem {"code", "params", "path", "text"} (policies.engine.Problem.as_dict()),
    # worded in the reader's language when shown (refusals()).
    errors = models.JSONField(_("refusal messages"), default=list, blank=True)
    policies = models.JSONField(_("policy documents used"), default=list, blank=True)
    year_totals = models.JSONField(_("totals of the year"), default=dict, blank=True)
    alerts = models.JSONField(_("monitoring alerts"), default=list, blank=True)
    total = models.DecimalField(_("total cost"), null=True, blank=True, **MONEY)
    policy_scope = models.DecimalField(_("in policy scope"), null=True, blank=True, **MONEY)
    basic_paid = models.DecimalField(_("basic insurance"), null=True, blank=True, **MONEY)
    critical_paid = models.DecimalField(_("critical-illness insurance"), null=True, blank=True, **MONEY)
    self_pay_in_scope = models.DecimalField(_("in-scope self-pay"), null=True, blank=True, **MONEY)
    assistance = models.DecimalField(_("medical assistance"), null=True, blank=True, **MONEY)
    tilted = models.DecimalField(_("tilted assistance"), null=True, blank=True, **MONEY)
    out_of_pocket = models.DecimalField(_("out of pocket"), null=True, blank=True, **MONEY)
    maf_paid = models.DecimalField(_("assistance paid at the hospital"), null=True, blank=True, **MONEY)
    paid_before = models.DecimalField(_("paid by earlier cases"), null=True, blank=True, **MONEY)
    payable = models.DecimalField(_("payable"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-id"]
        indexes = [models.Index(fields=["application", "status"], name="settlement_app_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="current"), name="settlement_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} @ {self.computed_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    def refusals(self) -> list[str]:
        """Why the calculation was refused, in the reader's language (the stored problems —
        code, params, path — worded by ``policies.messages.render``)."""
        from policies.messages import render

        return [render(p) for p in self.errors or []]


@track()
class SettlementLine(models.Model):
    """One claim of the year in a settlement, as the engine settled it (B, C, S, A, G, out of
    pocket), plus what the case pays for it when the claim belongs to the application."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="settlement_lines")
    position = models.PositiveIntegerField(_("order"))
    in_application = models.BooleanField(_("claim of this case"))
    category = models.CharField(_("category"), max_length=20, blank=True)
    route = models.CharField(_("route"), max_length=60, blank=True)
    policy = models.CharField(_("policy document"), max_length=100, blank=True)
    total = models.DecimalField(_("total cost"), **MONEY)
    policy_scope = models.DecimalField(_("in policy scope"), **MONEY)
    basic_paid = models.DecimalField(_("basic insurance"), **MONEY)
    critical_paid = models.DecimalField(_("critical-illness insurance"), **MONEY)
    self_pay_in_scope = models.DecimalField(_("in-scope self-pay"), **MONEY)
    assistance = models.DecimalField(_("medical assistance"), **MONEY)
    tilted = models.DecimalField(_("tilted assistance"), **MONEY)
    out_of_pocket = models.DecimalField(_("out of pocket"), **MONEY)
    notes = models.JSONField(_("notes"), default=list, blank=True)
    maf_pay = models.DecimalField(_("assistance paid at the hospital"), default=ZERO, **MONEY)
    paid_before = models.DecimalField(_("paid by earlier cases"), default=ZERO, **MONEY)
    payable = models.DecimalField(_("payable"), default=ZERO, **MONEY)
    # Which annual caps this claim reached, as the engine said (``engine.ClaimResult``).
    basic_cap_reached = models.BooleanField(_("basic insurance cap reached"), default=False)
    critical_cap_reached = models.BooleanField(_("critical-illness insurance cap reached"), default=False)
    assistance_cap_reached = models.BooleanField(_("annual assistance cap reached"), default=False)
    tilted_cap_reached = models.BooleanField(_("annual tilted-assistance cap reached"), default=False)

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["settlement_id", "position"]
        constraints = [models.UniqueConstraint(fields=["settlement", "claim"], name="settlement_line_once")]


# --- Adjustments and the allocation ledger -----------------------------------------------------


class AdjustmentKind(models.TextChoices):
    SUPPLEMENTARY = "supplementary", _("supplementary payment")
    RECOVERY = "recovery", _("recovery")


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    IN_PAYMENT = "in_payment", _("in payment")
    SETTLED = "settled", _("settled")
    CANCELLED = "cancelled", _("replaced before payment")


@track()
class Adjustment(models.Model):
    """A supplementary payment (补发, positive) or a recovery (追回, negative) on an approved case,
    of the exact difference a recalculation found. Created once per ``basis_hash`` (the hash of the
    recalculated settlement and of what had been committed when it was made)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="adjustments")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(_("kind"), max_length=16, choices=AdjustmentKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    basis_hash = models.CharField(_("basis hash"), max_length=64)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING)
    current_batch = models.ForeignKey(
        "PaymentBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("open payment batch")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="adjustment_status_id")]
        constraints = [
            models.UniqueConstraint(fields=["application", "basis_hash"], name="adjustment_once_per_basis"),
            models.CheckConstraint(
                condition=(Q(kind="supplementary") & Q(amount__gt=0)) | (Q(kind="recovery") & Q(amount__lt=0)),
                name="adjustment_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(current_batch__isnull=True) | Q(status="in_payment"), name="adjustment_batch_only_in_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.application})"


@track()
class ClaimAllocation(models.Model):
    """The ledger of what has been committed to each claim: on approval, one row per claim of the
    case (its payable); for each adjustment, one row per claim with the claim's difference.
    ``Σ amount`` per claim is what earlier cases paid (or will pay) for it."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="allocations")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="allocations")
    adjustment = models.ForeignKey(Adjustment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim allocation")
        verbose_name_plural = _("claim allocations")
        indexes = [models.Index(fields=["claim"], name="allocation_claim")]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "claim"], condition=Q(adjustment__isnull=True), name="allocation_once_per_approval"
            ),
            models.UniqueConstraint(fields=["adjustment", "claim"], name="allocation_once_per_adjustment"),
        ]


# --- Payments ----------------------------------------------------------------------------------


class BatchStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("payment batch", "open")
    CLOSED = "closed", pgettext_lazy("payment batch", "closed")


@track()
class PaymentBatch(models.Model):
    """A list of payments sent to the bank together. Open until every line has a result."""

    number = models.CharField(_("batch number"), max_length=30, unique=True, null=True, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    status = models.CharField(_("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    request_key = models.CharField(_("request key"), max_length=64, null=True, blank=True, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    exported_at = models.DateTimeField(_("last exported at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    total_amount = models.DecimalField(_("total"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-id"]
        indexes = [models.Index(fields=["region", "id"], name="batch_region_id")]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class PaymentLineKind(models.TextChoices):
    REGULAR = "regular", _("assistance")
    SUPPLEMENTARY = "supplementary", _("supplementary payment")
    RECOVERY = "recovery", _("recovery")


class PaymentLineStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")


LIVE_LINE_STATES = ["pending", "paid"]


@track()
class PaymentLine(models.Model):
    """One payment in a batch: a case's assistance (regular) or an adjustment. The payee is copied
    when the batch is made, so the bank file shows what was sent even if the person's account
    changes later."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="lines")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payment_lines")
    adjustment = models.ForeignKey(Adjustment, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_lines")
    kind = models.CharField(_("kind"), max_length=16, choices=PaymentLineKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    payee_type = models.CharField(_("paid to"), max_length=10, choices=PayeeType.choices)
    payee_name = models.CharField(_("payee"), max_length=100)
    payee_bank = models.CharField(_("bank"), max_length=100)
    payee_account = models.CharField(_("account"), max_length=40)
    payee_id_number = models.CharField(_("payee's identity number"), max_length=18, blank=True)
    #: What the case or 补发 pays before recoveries owed by the person are deducted (``amount`` is
    #: what the bank transfers: ``gross_amount - deduction``; 0.00 when fully offset, then never in a
    #: bank file).
    gross_amount = models.DecimalField(_("amount before deductions"), null=True, blank=True, **MONEY)
    deduction = models.DecimalField(_("recovery deducted"), default=ZERO, **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=PaymentLineStatus.choices, default=PaymentLineStatus.PENDING)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    result_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)
    result_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("payment line")
        verbose_name_plural = _("payment lines")
        ordering = ["batch_id", "id"]
        indexes = [models.Index(fields=["application", "status"], name="payline_app_status")]
        constraints = [
            # Nothing is ever paid twice: one live (pending or paid) regular payment per case …
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(adjustment__isnull=True, status__in=LIVE_LINE_STATES),
                name="payment_one_live_regular",
            ),
            # … and one live payment per adjustment.
            models.UniqueConstraint(
                fields=["adjustment"],
                condition=Q(adjustment__isnull=False, status__in=LIVE_LINE_STATES),
                name="payment_one_live_per_adjustment",
            ),
            models.CheckConstraint(
                condition=(Q(kind="regular") & Q(adjustment__isnull=True)) | (~Q(kind="regular") & Q(adjustment__isnull=False)),
                name="payment_kind_matches_adjustment",
            ),
            models.CheckConstraint(condition=~Q(status="paid") | ~Q(bank_reference=""), name="payment_paid_has_reference"),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(failure_reason=""), name="payment_failed_has_reason"),
            models.CheckConstraint(
                condition=(Q(kind="regular") & Q(amount__gt=0)) | ~Q(kind="regular") | (Q(amount=0) & Q(deduction__gt=0)),
                name="payment_regular_positive",
            ),
            models.CheckConstraint(condition=Q(deduction__gte=0), name="payment_deduction_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.batch} · {self.application} · {self.amount}"


class BankReturnStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a worker")
    PROCESSING = "processing", _("processing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class BankReturn(models.Model):
    """The bank's return file (回盘文件) for a payment batch: one result per line.

    The file is stored when it is received; the worker reads it and checks every row (line of the
    batch, account and amount as sent, result, bank reference or reason: rejected rows go to
    :class:`BankReturnError`), keeps the rows that pass in ``valid_rows`` and applies them (``cases.apply_bank_return``) in chunks, each chunk in one transaction together with
    ``rows_done`` (the cursor) and the counts, so a worker that dies is resumed where it stopped.
    The same file (sha256) for the same batch is received once (``bank_return_once``).
    """

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="bank_returns",
                              verbose_name=_("payment batch"))
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    file = models.FileField(_("file"), upload_to="cases/bank_returns/%Y/%m/", max_length=255)
    file_format = models.CharField(_("format"), max_length=5)  # csv | xlsx
    file_size = models.BigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("content hash"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=12, choices=BankReturnStatus.choices,
                              default=BankReturnStatus.PENDING)
    rows_total = models.PositiveIntegerField(_("lines in the file"), default=0)
    rows_valid = models.PositiveIntegerField(_("lines to apply"), default=0)
    rows_done = models.PositiveIntegerField(_("lines processed"), default=0)
    lines_paid = models.PositiveIntegerField(_("paid"), default=0)
    lines_failed = models.PositiveIntegerField(_("failed"), default=0)
    lines_already_recorded = models.PositiveIntegerField(_("already recorded"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rejected"), default=0)
    #: The worker read and checked the file (``valid_rows`` and the rejected rows are stored).
    checked = models.BooleanField(_("rows checked"), default=False)
    #: ``[[row, line_id, outcome, bank_reference, reason], …]`` — the rows that passed the checks.
    valid_rows = models.JSONField(default=list, blank=True)
    failure = models.TextField(_("why processing failed"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank return file")
        verbose_name_plural = _("bank return files")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["batch", "sha256"], name="bank_return_once")]

    def __str__(self) -> str:
        return f"{self.batch} · {self.original_name or self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (BankReturnStatus.DONE, BankReturnStatus.FAILED)

    @property
    def progress(self) -> int:
        if self.status == BankReturnStatus.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_valid) if self.rows_valid else 0

    @property
    def errors(self) -> list[dict]:
        """Every rejected row as ``{"row", "field", "reason"}`` — the whole list, for small reports
        and tests; pages, downloads and the API page through ``row_errors``."""
        return list(self.row_errors.order_by("row", "id").values("row", "field", "reason"))


class BankReturnError(models.Model):
    """A rejected row of a bank return file (on reading, checking or applying)."""

    bank_return = models.ForeignKey(BankReturn, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    field = models.CharField(_("column"), max_length=100)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("rejected row of a bank return file")
        verbose_name_plural = _("rejected rows of bank return files")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["bank_return", "row", "id"], name="bank_return_error_row")]


# --- Payee changes and the record of bank-account changes ----------------------------------------


class PayeeChangeState(models.TextChoices):
    TO_REVIEW = "to_review", _("waiting for review")
    TO_APPROVE = "to_approve", _("waiting for approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", pgettext_lazy("decision", "rejected")


OPEN_PAYEE_CHANGE_STATES = ["to_review", "to_approve"]


@track()
class PayeeChange(models.Model):
    """A request to pay an approved case to another payee (old → new), made by a caseworker,
    reviewed by a reviewer and approved by an approver — three different people. While it is open
    the case and its 补发 are not paid; once approved the case's frozen payee becomes the new one."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payee_changes",
                                    verbose_name=_("case"))
    state = models.CharField(_("state"), max_length=12, choices=PayeeChangeState.choices, default=PayeeChangeState.TO_REVIEW)
    reason = models.CharField(_("reason"), max_length=200)
    old_payee_type = models.CharField(_("old: paid to"), max_length=10, choices=PayeeType.choices, blank=True)
    old_name = models.CharField(_("old payee"), max_length=100, blank=True)
    old_bank = models.CharField(_("old bank"), max_length=100, blank=True)
    old_account = models.CharField(_("old account"), max_length=40, blank=True)
    old_id_number = models.CharField(_("old identity number"), max_length=18, blank=True)
    new_payee_type = models.CharField(_("new: paid to"), max_length=10, choices=PayeeType.choices)
    new_name = models.CharField(_("new payee"), max_length=100)
    new_bank = models.CharField(_("new bank"), max_length=100)
    new_account = models.CharField(_("new account"), max_length=40)
    new_id_number = models.CharField(_("new identity number"), max_length=18, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.CharField(_("review comment"), max_length=200, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.CharField(_("decision comment"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("payee change")
        verbose_name_plural = _("payee changes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["application"], condition=Q(state__in=OPEN_PAYEE_CHANGE_STATES),
                                    name="payee_change_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.old_account} → {self.new_account}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_PAYEE_CHANGE_STATES


class PersonDetailChange(models.Model):
    """A change of a person's residence (户籍性质) or insurance scheme (参保类型): who, when, old → new —
    above all a clerk confirming what a department's push left to be verified (待核实). Written by
    ``cases.services.persons`` in the same transaction as the change; never edited or deleted."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="detail_changes",
                               verbose_name=_("person"))
    field = models.CharField(_("detail"), max_length=10, choices=[("residence", _("residence")),
                                                                   ("scheme", _("insurance scheme"))])
    old_value = models.CharField(_("old value"), max_length=8, blank=True)
    new_value = models.CharField(_("new value"), max_length=8, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("changed by"))
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("change of a person's residence or scheme")
        verbose_name_plural = _("changes of persons' residence or scheme")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["person", "changed_at"], name="persondetail_person_at")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.field}: {self.old_value or '-'} → {self.new_value or '-'}"

    def _label(self, value: str) -> str:
        choices = dict(RESIDENCE_CHOICES if self.field == "residence" else SCHEME_CHOICES)
        return str(choices.get(value, value))

    @property
    def old_label(self) -> str:
        return self._label(self.old_value)

    @property
    def new_label(self) -> str:
        return self._label(self.new_value)


class BankAccountChange(models.Model):
    """Every change of a person's bank, account or account holder: who, when, old → new. Written by
    ``cases.services.persons`` in the same transaction as the change; never edited or deleted."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="bank_account_changes",
                               verbose_name=_("person"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("changed by"))
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, db_index=True)
    old_bank_name = models.CharField(_("old bank"), max_length=100, blank=True)
    old_bank_account = models.CharField(_("old account"), max_length=40, blank=True)
    old_account_holder = models.CharField(_("old account holder"), max_length=50, blank=True)
    new_bank_name = models.CharField(_("new bank"), max_length=100, blank=True)
    new_bank_account = models.CharField(_("new account"), max_length=40, blank=True)
    new_account_holder = models.CharField(_("new account holder"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("bank account change")
        verbose_name_plural = _("bank account changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["person", "changed_at"], name="bankchange_person_at")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.old_bank_account} → {self.new_bank_account}"


# --- Review of 补发 -------------------------------------------------------------------------------


class AdjustmentStep(models.TextChoices):
    REVIEW = "review", _("review")
    APPROVE = "approve", _("approval")


class AdjustmentReview(models.Model):
    """A reviewer's or approver's decision on a 补发 (supplementary payment) of ``amount`` computed
    by ``settlement``. A 补发 may be batched only when, for its current amount and settlement, a
    reviewer passed it and then a different approver approved it, neither of them having made the
    change that caused it (``cases.services.adjustments``)."""

    adjustment = models.ForeignKey(Adjustment, on_delete=models.PROTECT, related_name="reviews",
                                   verbose_name=_("adjustment"))
    step = models.CharField(_("step"), max_length=10, choices=AdjustmentStep.choices)
    passed = models.BooleanField(_("passed"))
    amount = models.DecimalField(_("amount decided"), **MONEY)
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.CharField(_("comment"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("adjustment review")
        verbose_name_plural = _("adjustment reviews")
        ordering = ["adjustment_id", "id"]


# --- Recoveries (追回) as receivables, bank-file deliveries ------------------------------------------


class RecoveryEntryKind(models.TextChoices):
    OFFSET = "offset", _("deducted from a payment")
    REPAID = "repaid", _("repaid by the person")
    WAIVER = "waiver", _("waived")


class RecoveryEntryState(models.TextChoices):
    RESERVED = "reserved", _("deducted in an open batch")
    REQUESTED = "requested", _("waiver waiting for approval")
    DONE = "done", _("done")
    VOID = "void", pgettext_lazy("recovery entry", "void")


@track()
class RecoveryEntry(models.Model):
    """How a recovery (追回: an :class:`Adjustment` of kind ``recovery``, a receivable of the person)
    is cleared, in part or in full: deducted from a later payment of the person (``offset``, reserved
    while its batch line waits for the bank, done when paid, void when it failed), repaid by the
    person (``repaid``: date and receipt number), or waived (``waiver``: asked by one person,
    approved by an approver who did not ask). ``cases.services.recoveries`` writes them."""

    adjustment = models.ForeignKey(Adjustment, on_delete=models.PROTECT, related_name="recovery_entries",
                                   verbose_name=_("recovery"))
    kind = models.CharField(_("kind"), max_length=10, choices=RecoveryEntryKind.choices)
    state = models.CharField(_("state"), max_length=10, choices=RecoveryEntryState.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    payment_line = models.ForeignKey(PaymentLine, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="recovery_entries", verbose_name=_("payment line"))
    repaid_on = models.DateField(_("repaid on"), null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=60, blank=True)
    comment = models.CharField(_("comment"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery entry")
        verbose_name_plural = _("recovery entries")
        ordering = ["adjustment_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_entry_positive"),
            models.CheckConstraint(condition=~Q(kind="offset") | Q(payment_line__isnull=False),
                                   name="recovery_offset_has_line"),
            models.CheckConstraint(condition=~Q(kind="repaid") | (Q(repaid_on__isnull=False) & ~Q(receipt_number="")),
                                   name="recovery_repaid_has_receipt"),
        ]


class BankFileDelivery(models.Model):
    """One download of a batch's bank file (full names, identity numbers and accounts): who, when,
    which format, how many lines and how much."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="deliveries",
                              verbose_name=_("payment batch"))
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("by"))
    delivered_at = models.DateTimeField(_("downloaded at"), default=timezone.now)
    file_format = models.CharField(_("format"), max_length=5)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    total_amount = models.DecimalField(_("total"), default=ZERO, **MONEY)
    sha256 = models.CharField(_("content hash"), max_length=64)

    class Meta:
        verbose_name = _("bank file delivery")
        verbose_name_plural = _("bank file deliveries")
        ordering = ["-delivered_at", "-id"]


from .models_assignment import ApplicationAssignment, StageTimeLimit  # noqa: E402,F401  (分办转办)
from .models_recalc import RecalcMark  # noqa: E402,F401  (marks of the recalculation)
