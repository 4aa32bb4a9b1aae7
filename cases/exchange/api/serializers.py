"""Serializers of the exchange API (input shapes and answers; the services judge the input)."""
from __future__ import annotations

from rest_framework import serializers

from cases.identity_numbers import mask
from portal.api.errors import ErrorSerializer as ExchangeErrorSerializer  # noqa: E402,F401  (the API's one error body)

from ..models import (
    ConfirmationRequest,
    IdentityPush,
    PushRejectedRow,
)
from ..services.pushes import MAX_JSON_BYTES, MAX_JSON_ROWS


class PushRowSerializer(serializers.Serializer):
    """One row of a JSON push (the file's columns; Chinese header names are accepted as keys too)."""

    id_number = serializers.CharField(help_text="身份证号码")
    name = serializers.CharField(help_text="姓名")
    category = serializers.CharField(help_text="类别: code (dibao) or Chinese name (低保对象)")
    action = serializers.CharField(help_text="操作: 新增 / 退出 (add / exit)")
    effective_date = serializers.CharField(help_text="生效日期, YYYY-MM-DD")
    reference = serializers.CharField(help_text="文号, the department's document reference")
    region = serializers.CharField(required=False, help_text="行政区划, 6-digit code (for persons not yet registered)")
    residence = serializers.CharField(
        required=False, help_text="户籍性质 (for persons not yet registered): rural / urban, or 农村 / 城镇. Left out: the "
                                  "new person's residence is marked to be verified (待核实), never assumed.")
    scheme = serializers.CharField(
        required=False, help_text="参保类型 (for persons not yet registered): resident / employee, 城乡居民医保 / 职工医保, or "
                                  "the 险种类型 code 390 / 310. Left out: marked to be verified (待核实), never assumed.")


class PushCreateSerializer(serializers.Serializer):
    department = serializers.CharField(required=False, help_text="Your department, when you are a liaison of several.")
    region = serializers.CharField(required=False, help_text="The region pushed for, when you cover several.")
    name = serializers.CharField(required=False, help_text="A name for the push (shown in the lists).")
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=MAX_JSON_ROWS,
                                 help_text=f"Rows as objects with the columns of PushRow: at most {MAX_JSON_ROWS} "
                                           f"rows, a body of at most {MAX_JSON_BYTES // (1024 * 1024)} MB.")


class PushUploadSerializer(serializers.Serializer):
    department = serializers.CharField(required=False)
    region = serializers.CharField(required=False)
    file = serializers.FileField(help_text="CSV (UTF-8, GBK, GB18030) or .xlsx")


class PushSerializer(serializers.ModelSerializer):
    rows_applied = serializers.IntegerField(read_only=True)
    rows_added = serializers.IntegerField(read_only=True, help_text="rows that added an identity")
    rows_changed = serializers.IntegerField(
        read_only=True, help_text="rows that changed an identity on record (start moved earlier, reopened, ended)")
    status = serializers.CharField(read_only=True, help_text="queued, processing, done or failed")
    phase = serializers.CharField(read_only=True, help_text="waiting, reading, validating, applying, finished")
    channel = serializers.CharField(read_only=True, help_text="upload or api")

    class Meta:
        model = IdentityPush
        fields = ["id", "department", "region", "channel", "original_name", "file_format", "encoding", "status",
                  "phase", "progress", "rows_total", "rows_applied", "rows_added", "rows_changed", "rows_unchanged",
                  "rows_rejected",
                  "persons_created", "identities_opened", "identities_backdated", "identities_reopened",
                  "identities_closed", "person_years_marked", "failure", "created_at", "finished_at"]


class ProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class RejectedRowSerializer(serializers.ModelSerializer):
    problems = serializers.SerializerMethodField()

    class Meta:
        model = PushRejectedRow
        fields = ["row_no", "id_number", "name", "category", "action", "effective", "reference", "region_code",
                  "problems"]

    def get_problems(self, obj) -> list[dict]:
        from ..services import rejected_rows

        return [{k: p[k] for k in ("field", "code", "message")} for p in rejected_rows.problems(obj)]

    def to_representation(self, obj):
        from ..services import rejected_rows

        data = super().to_representation(obj)
        data.update(rejected_rows.masked_values(obj))  # number-like text masked, malformed too (issue 13)
        return data


class ConfirmationSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="open, confirmed or rejected")
    category = serializers.CharField(read_only=True, help_text="identity category code")
    person_name = serializers.CharField(source="person.name", read_only=True)
    person_id_number = serializers.CharField(source="person.masked_id_number", read_only=True)

    class Meta:
        model = ConfirmationRequest
        fields = ["id", "application", "person_name", "person_id_number", "region", "department", "category",
                  "claimed_start", "note", "status", "requested_at", "answered_at", "confirmed_start",
                  "confirmed_end", "reference", "reject_reason"]


class AskSerializer(serializers.Serializer):
    application = serializers.IntegerField()
    category = serializers.CharField(max_length=40, help_text="An identity category code: the national list (domain.md) or one that the policy of the region defines (categories.regional); checked against the region.")
    claimed_start = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ConfirmSerializer(serializers.Serializer):
    reference = serializers.CharField()
    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField()


class MaskedUnlessDelivered:
    """``id_number`` is masked unless the view says the answer is a recorded delivery."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("full_numbers") and data.get("id_number"):
            data["id_number"] = mask(data["id_number"])
        return data
