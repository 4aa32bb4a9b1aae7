"""Serializers of the cases API: thin shapes over models and selector bundles. Identity numbers
are always masked here; the full number is only returned by ``POST persons/{id}/reveal-id-number/``."""
from __future__ import annotations

from rest_framework import serializers

from portal.api.fields import MoneyField

from ..labels import state_label
from ..models import (
    Adjustment,
    Application,
    ApplicationEvent,
    ApplicationState,
    BankReturn,
    Claim,
    ClaimImport,
    ClaimKind,
    HospitalLevel,
    Household,
    Identity,
    IdentityEntry,
    Location,
    PayeeType,
    PaymentBatch,
    PaymentLine,
    Person,
    RecognitionMethod,
    Residence,
    Scheme,
    Settlement,
    SettlementLine,
)
from ..services.workflow import TRANSITIONS

MONEY = {"max_digits": 14, "decimal_places": 2}


# Choice fields are plain ChoiceFields; their enums get stable names in the schema through
# SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (portal/settings/base.py).
TRANSITION_ACTIONS = [a for a, r in TRANSITIONS.items() if not r.payments_only]
PAYMENT_OUTCOMES = ["paid", "failed"]


class ScopedModelSerializer(serializers.ModelSerializer):
    pass


from portal.api.errors import ErrorSerializer  # noqa: E402,F401  (the one error body; kept importable here)

# --- Persons ------------------------------------------------------------------------------------------


class HouseholdSerializer(ScopedModelSerializer):
    region_code = serializers.CharField(source="region_id")

    class Meta:
        model = Household
        fields = ["id", "number", "head_name", "address", "region_code", "created_at"]
        read_only_fields = ["id", "created_at"]


class PersonSerializer(ScopedModelSerializer):
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    region_code = serializers.CharField(source="region_id", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    household_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = Person
        fields = [
            "id", "id_number_masked", "name", "sex", "birth_date", "region_code", "region_name", "household_id",
            "residence", "scheme", "phone", "bank_name", "bank_account", "account_holder", "created_at", "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {name: {"allow_null": True} for name in ("phone", "bank_name", "bank_account", "account_holder")}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            from ..access import hidden_person_fields

            for name in hidden_person_fields(request.user, instance.region_id):
                data[name] = None  # not for this role (cases.access.PERSON_FIELD_ROLES)
        return data


class PersonWriteSerializer(serializers.Serializer):
    """Sex and birth date are derived from the identity number, never sent."""

    id_number = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=100)
    region_code = serializers.CharField(max_length=6)
    household_id = serializers.IntegerField(required=False, allow_null=True)
    residence = serializers.ChoiceField(choices=Residence.choices, required=False)
    scheme = serializers.ChoiceField(choices=Scheme.choices, required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    bank_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    bank_account = serializers.CharField(required=False, allow_blank=True, max_length=64)
    account_holder = serializers.CharField(required=False, allow_blank=True, max_length=100)


class RevealRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the full number is needed (recorded).")
    context = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    help_text="Where it is shown, e.g. the case number (recorded).")


class RevealResponseSerializer(serializers.Serializer):
    id_number = serializers.CharField()


class IdentitySerializer(ScopedModelSerializer):
    person_id = serializers.IntegerField(read_only=True)
    department = serializers.CharField(source="department_id", read_only=True)

    class Meta:
        model = Identity
        fields = ["id", "person_id", "category", "start", "end", "department", "method", "reference", "source",
                  "created_at"]
        read_only_fields = fields


class IdentityWriteSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    category = serializers.CharField(max_length=40, help_text="An identity category code: the national list (domain.md) or one that the policy of the region defines (categories.regional); checked against the region.")
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=RecognitionMethod.choices, required=False,
                                     help_text="Liaisons: pushed or confirmed; others are recorded as evidence.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=100)


class IdentityEntrySerializer(ScopedModelSerializer):
    """An identity entered by bureau staff: it counts only once a second reviewer confirms it
    (``status`` pending → confirmed, with ``identity_id`` the identity recorded; or rejected with
    ``decision_reason``)."""

    person_id = serializers.IntegerField(read_only=True)
    entered_by = serializers.CharField(source="entered_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True, default=None)
    identity_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = IdentityEntry
        fields = ["id", "person_id", "category", "start", "end", "reference", "status", "entered_by", "entered_at",
                  "decided_by", "decided_at", "decision_reason", "identity_id"]
        read_only_fields = fields


class IdentityEntryRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the identity is not confirmed (required).")


class IdentityCloseSerializer(serializers.Serializer):
    end = serializers.DateField()
    reference = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- Claims -------------------------------------------------------------------------------------------


class ClaimSerializer(ScopedModelSerializer):
    person_id = serializers.IntegerField(read_only=True)
    region_code = serializers.CharField(source="region_id", read_only=True)
    claim_import_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Claim
        fields = [
            "id", "person_id", "region_code", "setl_id", "date", "kind", "special_disease", "hospital_level", "location",
            "referral_compliant", "total", "policy_scope", "basic_paid", "critical_paid", "maf_pay", "hospital_name",
            "hospital_code", "med_type", "insutype", "enrolment_area", "source", "claim_import_id", "created_at",
            "updated_at", "voided_at", "void_reason",
        ]
        read_only_fields = fields


class ClaimWriteSerializer(serializers.Serializer):
    """Money in yuan (≥ 0, at most two decimals); B + C ≤ P ≤ T is checked by the service, which
    names the field. ``basic_paid``/``critical_paid`` may be null: computed by the policy."""

    person_id = serializers.IntegerField()
    application_id = serializers.IntegerField(required=False, allow_null=True,
                                              help_text="Attach the new claim to this draft/returned case.")
    setl_id = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=40)
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ClaimKind.choices)
    special_disease = serializers.BooleanField(required=False, default=False)
    hospital_level = serializers.ChoiceField(choices=HospitalLevel.choices, required=False, default=1)
    location = serializers.ChoiceField(choices=Location.choices, required=False, default=Location.COUNTY)
    referral_compliant = serializers.BooleanField(required=False, default=True)
    total = MoneyField(**MONEY)
    policy_scope = MoneyField(**MONEY)
    basic_paid = MoneyField(required=False, allow_null=True, **MONEY)
    critical_paid = MoneyField(required=False, allow_null=True, **MONEY)
    maf_pay = MoneyField(required=False, default="0.00", **MONEY)
    hospital_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    hospital_code = serializers.CharField(required=False, allow_blank=True, max_length=30)
    confirm_duplicate = serializers.BooleanField(
        required=False, default=False,
        help_text="The person already has a claim with the same date, hospital and amounts: without this the claim is "
                  "refused (409 claim_duplicate); true records it all the same (a second, identical settlement).")


class ClaimUpdateSerializer(ClaimWriteSerializer):
    person_id = None
    application_id = None
    confirm_duplicate = None

    def get_fields(self):
        fields = super().get_fields()
        for f in fields.values():
            f.required = False
        return fields


class ClaimVoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the claim is voided (recorded).")


class ClaimImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row as Excel shows it (the header is row 1).")
    column = serializers.CharField(help_text="The national column name.")
    label = serializers.CharField(help_text="The column's Chinese label.")
    value = serializers.CharField()
    message = serializers.CharField()


class ClaimImportSerializer(ScopedModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    created = serializers.SerializerMethodField(
        help_text="False when the same file was received before from you (that import is returned).")

    class Meta:
        model = ClaimImport
        fields = ["id", "filename", "file_format", "encoding", "file_size", "sha256", "attempt", "uploaded_by",
                  "uploaded_at", "status", "progress", "failure", "started_at", "finished_at", "rows_total",
                  "rows_created", "rows_updated", "rows_unchanged", "rows_failed", "errors_count", "created"]
        read_only_fields = fields

    def get_created(self, obj) -> bool:
        return bool(getattr(obj, "created", False))


class ClaimImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or .xlsx with the national field names.")
    again = serializers.BooleanField(required=False, default=False,
                                     help_text="Import a file you imported before once more (after registering the "
                                               "persons it lacked); without it the earlier import is returned.")


class ImportColumnSerializer(serializers.Serializer):
    column = serializers.CharField()
    label = serializers.CharField()
    meaning = serializers.CharField()
    maps_to = serializers.CharField()
    required = serializers.BooleanField()
    default = serializers.CharField()


# --- Applications -------------------------------------------------------------------------------------


class PersonBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_number_masked = serializers.CharField(source="masked_id_number")


class ApplicationSerializer(ScopedModelSerializer):
    person = PersonBriefSerializer(read_only=True)
    region_code = serializers.CharField(source="region_id", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    state_label = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    def get_state_label(self, obj) -> str:
        return state_label(obj.state)

    class Meta:
        model = Application
        fields = [
            "id", "number", "person", "region_code", "region_name", "year", "state", "state_label", "tilted_applied",
            "payee_type", "amount_approved", "created_by", "created_at", "submitted_at", "state_changed_at",
            "approved_at", "paid_at",
        ]
        read_only_fields = fields


class ApplicationWriteSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    claim_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    tilted_applied = serializers.BooleanField(required=False, default=False)
    payee_type = serializers.ChoiceField(choices=PayeeType.choices, required=False, default=PayeeType.PERSON)
    payee_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    payee_bank = serializers.CharField(required=False, allow_blank=True, max_length=100)
    payee_account = serializers.CharField(required=False, allow_blank=True, max_length=64)
    agent_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    agent_relation = serializers.CharField(required=False, allow_blank=True, max_length=30)
    agent_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    note = serializers.CharField(required=False, allow_blank=True)


class ApplicationUpdateSerializer(serializers.Serializer):
    tilted_applied = serializers.BooleanField(required=False)
    payee_type = serializers.ChoiceField(choices=PayeeType.choices, required=False)
    payee_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    payee_bank = serializers.CharField(required=False, allow_blank=True, max_length=100)
    payee_account = serializers.CharField(required=False, allow_blank=True, max_length=64)
    agent_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    agent_relation = serializers.CharField(required=False, allow_blank=True, max_length=30)
    agent_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    note = serializers.CharField(required=False, allow_blank=True)


class ClaimIdsSerializer(serializers.Serializer):
    claim_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1)


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=TRANSITION_ACTIONS)
    comment = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text="The reason; required to return or reject.")
    expected_state = serializers.ChoiceField(choices=ApplicationState.choices, required=False, allow_null=True,
                                             help_text="The state you saw; a different current state is a 409 conflict.")
    category = serializers.CharField(
        required=False, allow_null=True, max_length=40,
        help_text="ask_department: the identity the department should confirm (a category code of the case's "
                  "region: the national list or one its policy defines).")


class SettlementLineSerializer(ScopedModelSerializer):
    claim_id = serializers.IntegerField(read_only=True)
    date = serializers.DateField(source="claim.date", read_only=True)
    setl_id = serializers.CharField(source="claim.setl_id", read_only=True, allow_null=True)

    class Meta:
        model = SettlementLine
        fields = ["claim_id", "setl_id", "date", "position", "in_application", "category", "route", "policy", "total",
                  "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
                  "out_of_pocket", "notes", "maf_pay", "paid_before", "payable"]
        read_only_fields = fields


class SettlementSerializer(ScopedModelSerializer):
    lines = SettlementLineSerializer(many=True, read_only=True)
    refusals = serializers.SerializerMethodField(
        help_text="Why the calculation was refused, in the reader's language (``errors`` holds the problems: "
                  "code, params, path).")

    class Meta:
        model = Settlement
        fields = ["id", "kind", "status", "computed_at", "revision", "year", "reason", "settlement_hash", "errors",
                  "refusals",
                  "policies", "year_totals", "alerts", "total", "policy_scope", "basic_paid", "critical_paid",
                  "self_pay_in_scope", "assistance", "tilted", "out_of_pocket", "maf_paid", "paid_before", "payable",
                  "lines"]
        read_only_fields = fields

    def get_refusals(self, obj) -> list[str]:
        return obj.refusals()


class EventSerializer(ScopedModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ApplicationEvent
        fields = ["id", "action", "from_state", "to_state", "actor", "at", "comment"]
        read_only_fields = fields

    def get_actor(self, obj) -> str:
        return obj.actor.display_name if obj.actor_id else "system"


class AdjustmentSerializer(ScopedModelSerializer):
    application_id = serializers.IntegerField(read_only=True)
    application_number = serializers.CharField(source="application.number", read_only=True)
    settlement_id = serializers.IntegerField(read_only=True)
    current_batch_id = serializers.IntegerField(read_only=True, allow_null=True)
    approval_state = serializers.SerializerMethodField(
        help_text="补发: to_review, to_approve, approved or rejected (paid only once approved); recoveries: approved")
    reason_text = serializers.SerializerMethodField(help_text="The reason in words")

    class Meta:
        model = Adjustment
        fields = ["id", "application_id", "application_number", "settlement_id", "kind", "amount", "status", "reason",
                  "reason_text", "approval_state", "current_batch_id", "created_at", "settled_at"]
        read_only_fields = fields

    def get_approval_state(self, obj) -> str:
        from ..services import adjustments

        return adjustments.approval_state(obj)

    def get_reason_text(self, obj) -> str:
        from ..services import adjustments

        return adjustments.reason_text(obj)


class AdjustmentDecisionSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text="true passes (review) or approves (approval); false rejects")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                    help_text="Required to reject")
    expected_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False,
                                               help_text="The amount you saw; refused (409) if it changed meanwhile")


class PaymentLineSerializer(ScopedModelSerializer):
    application_id = serializers.IntegerField(read_only=True)
    application_number = serializers.CharField(source="application.number", read_only=True)
    adjustment_id = serializers.IntegerField(read_only=True, allow_null=True)
    batch_id = serializers.IntegerField(read_only=True)
    id_number_masked = serializers.CharField(source="application.person.masked_id_number", read_only=True)

    class Meta:
        model = PaymentLine
        fields = ["id", "batch_id", "application_id", "application_number", "adjustment_id", "kind", "amount",
                  "payee_type", "payee_name", "id_number_masked", "payee_bank", "payee_account", "status",
                  "bank_reference", "failure_reason", "result_at"]
        read_only_fields = fields
        extra_kwargs = {"payee_bank": {"allow_null": True}, "payee_account": {"allow_null": True}}


class ApplicationDetailSerializer(serializers.Serializer):
    """The case page: the application, its person and identities, claims, the settlement that
    counts (approved, else current) with its lines, events, allowed actions, adjustments, payments."""

    application = ApplicationSerializer()
    payee_name = serializers.CharField(source="application.payee_name")
    payee_bank = serializers.CharField(source="application.payee_bank", allow_null=True)
    payee_account = serializers.CharField(source="application.payee_account", allow_null=True)
    agent_name = serializers.CharField(source="application.agent_name")
    agent_relation = serializers.CharField(source="application.agent_relation")
    agent_phone = serializers.CharField(source="application.agent_phone", allow_null=True)
    note = serializers.CharField(source="application.note")
    pending_category = serializers.CharField(source="application.pending_category")
    person = PersonSerializer()
    identities = IdentitySerializer(many=True)
    claims = ClaimSerializer(many=True)
    settlement = SettlementSerializer(allow_null=True)
    recalculation = SettlementSerializer(allow_null=True)
    settlement_ready = serializers.BooleanField()
    settlement_problem = serializers.CharField()
    events = EventSerializer(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())
    adjustments = AdjustmentSerializer(many=True)
    payments = PaymentLineSerializer(many=True)
    can_view_full_id = serializers.BooleanField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            from ..access import hidden_person_fields

            if hidden_person_fields(request.user, instance.application.region_id):
                # cases.access.PERSON_FIELD_ROLES: no account or phone for this role (a liaison
                # answering a confirmation request), neither the person's nor the case's payee's
                for name in ("payee_bank", "payee_account", "agent_phone"):
                    data[name] = None
                for line in data.get("payments") or []:
                    line["payee_bank"] = line["payee_account"] = None
        return data


class SlipClaimSerializer(serializers.Serializer):
    claim_id = serializers.IntegerField()
    setl_id = serializers.CharField()
    date = serializers.DateField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    hospital = serializers.CharField()
    category = serializers.CharField()
    route = serializers.CharField()
    policy = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())
    total = serializers.DecimalField(**MONEY)
    policy_scope = serializers.DecimalField(**MONEY)
    basic_paid = serializers.DecimalField(**MONEY)
    critical_paid = serializers.DecimalField(**MONEY)
    self_pay_in_scope = serializers.DecimalField(**MONEY)
    assistance = serializers.DecimalField(**MONEY)
    tilted = serializers.DecimalField(**MONEY)
    out_of_pocket = serializers.DecimalField(**MONEY)
    maf_pay = serializers.DecimalField(**MONEY)
    paid_before = serializers.DecimalField(**MONEY)
    payable = serializers.DecimalField(**MONEY)


class SlipTotalsSerializer(serializers.Serializer):
    total = serializers.DecimalField(**MONEY)
    policy_scope = serializers.DecimalField(**MONEY)
    basic_paid = serializers.DecimalField(**MONEY)
    critical_paid = serializers.DecimalField(**MONEY)
    self_pay_in_scope = serializers.DecimalField(**MONEY)
    assistance = serializers.DecimalField(**MONEY)
    tilted = serializers.DecimalField(**MONEY)
    out_of_pocket = serializers.DecimalField(**MONEY)
    maf_pay = serializers.DecimalField(**MONEY)
    paid_before = serializers.DecimalField(**MONEY)
    payable = serializers.DecimalField(**MONEY)


class SlipAdjustmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    reason = serializers.CharField()


class SlipApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    year = serializers.IntegerField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    region = serializers.CharField()
    region_name = serializers.CharField()
    tilted_applied = serializers.BooleanField()


class SlipPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_number_masked = serializers.CharField()
    sex = serializers.CharField()
    residence = serializers.CharField()
    scheme = serializers.CharField()


class SlipSettlementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    kind = serializers.CharField()
    approved = serializers.BooleanField()


class SlipSerializer(serializers.Serializer):
    """一单制: the settlement slip of a case."""

    application = SlipApplicationSerializer()
    person = SlipPersonSerializer()
    settlement = SlipSettlementSerializer()
    policies = serializers.ListField(child=serializers.CharField())
    claims = SlipClaimSerializer(many=True)
    totals = SlipTotalsSerializer()
    adjustments = SlipAdjustmentSerializer(many=True)
    adjustments_total = serializers.DecimalField(**MONEY)


# --- Payments -----------------------------------------------------------------------------------------


class PaymentBatchSerializer(ScopedModelSerializer):
    region_code = serializers.CharField(source="region_id", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = PaymentBatch
        fields = ["id", "number", "region_code", "status", "note", "created_by", "created_at", "exported_at",
                  "closed_at", "line_count", "total_amount"]
        read_only_fields = fields


class SkippedSerializer(serializers.Serializer):
    item = serializers.CharField()
    reason = serializers.CharField()


class PaymentBatchDetailSerializer(PaymentBatchSerializer):
    lines = PaymentLineSerializer(many=True, read_only=True)
    skipped = SkippedSerializer(many=True, read_only=True, required=False)

    class Meta(PaymentBatchSerializer.Meta):
        fields = PaymentBatchSerializer.Meta.fields + ["lines", "skipped"]
        read_only_fields = fields


class BankReturnErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row in the file (the header is row 1).")
    field = serializers.CharField(help_text="The column, as named in the file.")
    reason = serializers.CharField()


class BankReturnSerializer(ScopedModelSerializer):
    batch = serializers.IntegerField(source="batch_id", read_only=True)
    batch_number = serializers.CharField(source="batch.number", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    created = serializers.SerializerMethodField(help_text="False when the same file was received before (that one is returned).")

    class Meta:
        model = BankReturn
        fields = ["id", "batch", "batch_number", "original_name", "file_format", "file_size", "sha256", "uploaded_by",
                  "created_at", "status", "rows_total", "rows_valid", "rows_done", "lines_paid", "lines_failed",
                  "lines_already_recorded", "rows_rejected", "checked", "failure", "started_at", "finished_at", "created"]
        read_only_fields = fields

    def get_created(self, obj) -> bool:
        return bool(getattr(obj, "created", False))


class BankReturnUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The bank's return file: CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or .xlsx "
                                           "with the header 明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因.")


class PaymentBatchCreateSerializer(serializers.Serializer):
    region_code = serializers.CharField(max_length=6, help_text="The batch's region; cases of it and below.")
    application_ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True,
                                            help_text="Omit to take every approved case you may pay.")
    adjustment_ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True,
                                           help_text="Omit to take every pending adjustment (when application_ids is omitted too).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)
    request_key = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                        help_text="Any unique string: repeating the request returns the same batch.")


class PaymentResultSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=PAYMENT_OUTCOMES)
    bank_reference = serializers.CharField(required=False, allow_blank=True, max_length=60)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class PaymentResultsSerializer(serializers.Serializer):
    results = PaymentResultSerializer(many=True)


class PersonSearchSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=60, help_text="A full identity number (or anything the list's q takes)")
