"""Serializers of the monitoring API (input shapes and answers; the services judge the input)."""
from __future__ import annotations

from rest_framework import serializers

from cases.exchange.api.serializers import MaskedUnlessDelivered

from ..models import MonitoringRun, MonitoringWarning, WarningOutcome


class WarningSerializer(MaskedUnlessDelivered, serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="return_to_poverty (因病返贫) or fall_into_poverty (因病致贫)")
    outcome = serializers.CharField(read_only=True, help_text="empty while open; assisted, ineligible, helped, other")
    person_name = serializers.CharField(source="person.name", read_only=True)
    id_number = serializers.CharField(source="person.id_number", read_only=True,
                                      help_text="Full number when the list is delivered to the department's liaison "
                                                "(logged); masked for everyone else.")

    class Meta:
        model = MonitoringWarning
        fields = ["id", "person_name", "id_number", "region", "year", "kind", "claim_date", "threshold",
                  "out_of_pocket", "document", "created_at", "outcome", "outcome_note", "handled_at"]


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=WarningOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class MonitoringRunSerializer(serializers.ModelSerializer):
    problems = serializers.SerializerMethodField(help_text="The run's problems, worded in the reader's language.")

    class Meta:
        model = MonitoringRun
        fields = ["id", "year", "region_code", "trigger", "started_at", "finished_at", "person_years",
                  "computed_person_years", "warnings_created", "problems"]

    def get_problems(self, obj) -> list[str]:
        return obj.problem_texts()


class RunRequestSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False)
    region = serializers.CharField()
