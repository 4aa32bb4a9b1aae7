"""Shapes of the policies API (the settlement JSON follows shared/spec/settlement.md)."""
from rest_framework import serializers

from ..engine import constants as codes
from ..models import PolicyChange, PolicyImport, PolicyImportProblem, PolicyVersion, Statistic

MONEY = {"help_text": "Money: a decimal string with at most two decimals (a JSON number is accepted)."}


from portal.api.errors import ErrorSerializer as ErrorsSerializer  # noqa: E402,F401  (the API's one error body)


class IdentityInputSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="Category code, e.g. dibao (domain.md).")
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, help_text="Inclusive; null = open.")


class PersonInputSerializer(serializers.Serializer):
    residence = serializers.ChoiceField(choices=list(codes.RESIDENCES), required=False, default="rural")
    scheme = serializers.ChoiceField(choices=list(codes.SCHEMES), required=False, default="resident")
    identities = IdentityInputSerializer(many=True, required=False)


class ClaimInputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Unique in the input.")
    date = serializers.DateField(help_text="Settlement (discharge) date.")
    kind = serializers.ChoiceField(choices=list(codes.KINDS))
    special_disease = serializers.BooleanField(required=False, default=False)
    hospital_level = serializers.ChoiceField(choices=list(codes.HOSPITAL_LEVELS), required=False, default=1)
    location = serializers.ChoiceField(choices=list(codes.LOCATIONS), required=False, default="county")
    referral_compliant = serializers.BooleanField(required=False, default=True)
    total = serializers.CharField(**MONEY)
    policy_scope = serializers.CharField(**MONEY)
    basic_paid = serializers.CharField(required=False, help_text="Computed from the policy when absent.")
    critical_paid = serializers.CharField(required=False, help_text="Computed from the policy when absent.")


class SettlementInputSerializer(serializers.Serializer):
    region = serializers.CharField(help_text="GB/T 2260 code of the region whose policy applies.")
    person = PersonInputSerializer(required=False)
    statistics = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()), required=False,
        help_text="{statistic: {year: value}}; when present it replaces the stored statistics for this calculation.",
    )
    tilted_applied = serializers.BooleanField(required=False, default=False)
    claims = ClaimInputSerializer(many=True)


class ClaimResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    policy = serializers.CharField(allow_null=True, help_text="Document number of the version applied.")
    category = serializers.CharField(allow_null=True)
    route = serializers.CharField(allow_null=True)
    total = serializers.CharField()
    policy_scope = serializers.CharField()
    basic_paid = serializers.CharField()
    critical_paid = serializers.CharField()
    self_pay_in_scope = serializers.CharField()
    assistance = serializers.CharField()
    tilted = serializers.CharField()
    out_of_pocket = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())


class TotalsSerializer(serializers.Serializer):
    total = serializers.CharField()
    basic_paid = serializers.CharField()
    critical_paid = serializers.CharField()
    assistance = serializers.CharField()
    tilted = serializers.CharField()
    out_of_pocket = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(codes.ALERT_KINDS))
    claim = serializers.CharField()
    threshold = serializers.CharField()
    out_of_pocket = serializers.CharField()


class SettlementResultSerializer(serializers.Serializer):
    region = serializers.CharField()
    claims = ClaimResultSerializer(many=True)
    totals = TotalsSerializer()
    alerts = AlertSerializer(many=True)


class PolicyVersionSerializer(serializers.ModelSerializer):
    region_name = serializers.CharField(source="region.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = PolicyVersion
        fields = [
            "id", "region", "region_name", "document_number", "title", "framework", "status", "status_label",
            "in_force_from", "in_force_to", "retroactive_from", "based_on", "created_at", "published_at",
        ]


class ParameterSerializer(serializers.Serializer):
    path = serializers.CharField()
    label = serializers.CharField()
    value = serializers.JSONField(allow_null=True, help_text="null = unset (the document leaves it to someone else).")
    shown = serializers.CharField()
    clause = serializers.CharField(allow_null=True)


class ChangeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.display_name", default=None, read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    what = serializers.CharField(read_only=True, help_text="What changed, named for the reader.")

    class Meta:
        model = PolicyChange
        fields = ["id", "at", "actor", "action", "action_label", "path", "what", "old_value", "new_value", "note"]


class PolicyVersionDetailSerializer(PolicyVersionSerializer):
    document = serializers.JSONField(read_only=True)
    parameters = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta(PolicyVersionSerializer.Meta):
        fields = PolicyVersionSerializer.Meta.fields + ["document", "parameters", "changes"]

    def get_parameters(self, obj) -> list[dict]:
        from ..selectors import version_parameters

        return ParameterSerializer(
            [{"path": r.path, "label": r.label, "value": r.value, "shown": r.shown, "clause": r.clause}
             for r in version_parameters(obj)], many=True,
        ).data

    def get_changes(self, obj) -> list[dict]:
        from ..selectors import version_history

        return ChangeSerializer(version_history(obj), many=True).data


class StartVersionSerializer(serializers.Serializer):
    region = serializers.CharField(required=False, help_text="A region below the version's that starts its own policy.")


class SetParameterSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Parameter path, e.g. assistance.routes[1].ratio.")
    value = serializers.JSONField(allow_null=True, help_text="The document value; null = unset.")


class PublishSerializer(serializers.Serializer):
    in_force_from = serializers.DateField()
    in_force_to = serializers.DateField(required=False, allow_null=True)
    retroactive_from = serializers.DateField(required=False, allow_null=True)
    confirm_document = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200,
        help_text="The version's document number, typed to confirm publishing it (refused otherwise).")
    simulation = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="The fund-impact simulation of the draft that was looked at, recorded with the publication.")


class StatisticSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        max_length=40,
        help_text="The figure's name: city_income, province_rural_income, or any statistic or announced amount the "
                  "policies of the region name (e.g. annual_deductible_dibao_edge); the service refuses others.")
    region_name = serializers.CharField(source="region.name", read_only=True)
    value = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Statistic
        fields = ["id", "region", "region_name", "kind", "year", "value", "source", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        validators = []  # the service enters or changes the figure of (region, kind, year)


class PolicyFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A policy file (UTF-8 JSON, docs/policy-file.md), at most 2 MB.")
    region = serializers.CharField(required=False, help_text="Region code; by default the file's own region.")


class PolicyImportSerializer(serializers.ModelSerializer):
    """An uploaded policy file and what became of it: ``status`` pending → processing → done (the
    draft is ``version``) or failed (``failure`` says why; every problem is at ``problems/``)."""

    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    region = serializers.CharField(source="region_id", read_only=True, allow_null=True)
    version = serializers.IntegerField(source="version_id", read_only=True, allow_null=True)
    created = serializers.SerializerMethodField(help_text="False: the same file was still being imported; "
                                                          "that import is returned.")

    class Meta:
        model = PolicyImport
        fields = ["id", "filename", "file_size", "sha256", "uploaded_by", "uploaded_at", "region", "status",
                  "failure", "problems_count", "version", "started_at", "finished_at", "created"]
        read_only_fields = fields

    def get_created(self, obj) -> bool:
        return bool(getattr(obj, "created", False))


class PolicyImportProblemSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyImportProblem
        fields = ["position", "message"]
        read_only_fields = fields
