"""Serializers of the enrolment-subsidy API."""
from __future__ import annotations

from rest_framework import serializers

from cases.exchange.api.serializers import MaskedUnlessDelivered

from ..models import SubsidyList, SubsidyListItem


class SubsidyListSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubsidyList
        fields = ["id", "region", "year", "month", "as_of", "created_at", "added", "exited", "changed", "subsidised",
                  "total_amount", "problems"]


class SubsidyItemSerializer(MaskedUnlessDelivered, serializers.ModelSerializer):
    change = serializers.CharField(read_only=True, help_text="added, exited or changed")
    category = serializers.CharField(read_only=True, help_text="identity category code the subsidy is for: the "
                                     "national list or one the region's policy defines (categories.regional)")
    category_name = serializers.CharField(source="get_category_display", read_only=True,
                                          help_text="the category's name in words")
    previous_category = serializers.CharField(read_only=True)
    previous_category_name = serializers.CharField(source="get_previous_category_display", read_only=True)
    person_name = serializers.CharField(source="person.name", read_only=True)
    id_number = serializers.CharField(source="person.id_number", read_only=True,
                                      help_text="Full number when the list is delivered to the department's liaison "
                                                "(logged); masked for everyone else.")
    person_region = serializers.CharField(source="person.region_id", read_only=True)

    class Meta:
        model = SubsidyListItem
        fields = ["person_name", "id_number", "person_region", "change", "category", "category_name",
                  "previous_category", "previous_category_name", "tier", "personal_contribution", "amount",
                  "previous_amount", "problem", "document", "clause"]
