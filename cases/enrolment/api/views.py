"""Enrolment-subsidy API: the monthly lists a finance or tax system pulls (recorded as a delivery,
like the exchange's other lists). Querysets come from ``cases.enrolment.selectors``; the paths stay
under ``/api/v1/exchange/`` where they always were.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from cases.exchange.api.views import token_hint
from cases.exchange.models import SUBSIDY_RECIPIENTS, DeliveryKind
from cases.exchange.selectors import liaison_departments
from cases.exchange.services import outbound
from portal.api.errors import error_responses

from .. import selectors
from . import serializers as s


@extend_schema_view(
    list=extend_schema(summary="Monthly subsidised-enrolment lists of your regions"),
    retrieve=extend_schema(summary="A list's counts", responses={200: s.SubsidyListSerializer, **error_responses(404)}),
)
class SubsidyListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    permission_required = "exchange.view_subsidy_lists"
    serializer_class = s.SubsidyListSerializer

    def get_queryset(self):
        return selectors.subsidy_lists_for(self.request.user)

    @extend_schema(summary="The people added, exited or changed (a finance or tax system pulling it is recorded)",
                   parameters=[OpenApiParameter("change", str, enum=["added", "exited", "changed"])],
                   responses={200: s.SubsidyItemSerializer(many=True), **error_responses(404)})
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        lst = self.get_object()
        qs = selectors.subsidy_items_for(request.user, lst).order_by("change", "person_id")
        if request.query_params.get("change"):
            qs = qs.filter(change=request.query_params["change"])
        page = self.paginate_queryset(qs)
        department = next((d for d in liaison_departments(request.user) if d in SUBSIDY_RECIPIENTS), None)
        delivered = bool(department and not request.user.is_superuser)
        if delivered:
            outbound.record(acting_user=request.user, kind=DeliveryKind.SUBSIDY_LIST, department=department,
                            region_code=lst.region_id, period=f"{lst.year}-{lst.month:02d}", file_format="json",
                            channel="api", person_ids=[i.person_id for i in page], subsidy_list=lst,
                            api_token_hint=token_hint(request))
        # Full identity numbers only in a recorded delivery to the department; masks for everyone else.
        items = s.SubsidyItemSerializer(page, many=True, context={"full_numbers": delivered})
        return self.get_paginated_response(items.data)
