"""Monitoring API: the warnings (因病返贫 / 因病致贫) a civil-affairs or rural-revitalisation system
pulls (recorded as a delivery, like the exchange's other lists) and their outcomes, and the runs.

Querysets come from ``cases.monitoring.selectors`` (region-scoped); the paths stay under
``/api/v1/exchange/`` where they always were.
"""
from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.exchange.api.views import liaison_grants, token_hint
from cases.exchange.models import WARNING_RECIPIENTS, DeliveryKind
from cases.exchange.selectors import liaison_departments
from cases.exchange.services import outbound
from portal.api.errors import error_responses

from .. import selectors, services
from ..filters import WarningFilter
from . import serializers as s


@extend_schema_view(
    list=extend_schema(
        summary="Monitoring warnings (因病返贫 / 因病致贫) of your regions",
        description="A civil-affairs or rural-revitalisation system pulling this list is recorded as a delivery; "
                    "rows carry full identity numbers (each logged).",
        responses={200: s.WarningSerializer(many=True), **error_responses(400)}),
)
class WarningViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_required = "exchange.view_warnings"
    serializer_class = s.WarningSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = WarningFilter

    def get_queryset(self):
        # region scoping first (the selector), then the filter (DjangoFilterBackend)
        return selectors.warnings_for(self.request.user).order_by("-created_at", "-id")

    def _delivered_to(self) -> str | None:
        """The department a pull of this list is delivered to (recorded, each person logged)."""
        user = self.request.user
        if user.is_superuser:
            return None
        return next((d for d in liaison_departments(user) if d in WARNING_RECIPIENTS), None)

    def get_serializer_context(self):
        # Full identity numbers only in a recorded delivery to the department; masks for everyone else.
        return {**super().get_serializer_context(), "full_numbers": self._delivered_to() is not None}

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", response.data) if isinstance(response.data, dict) else response.data
        department = self._delivered_to()
        if department:
            ids = [r["id"] for r in rows]
            people = list(selectors.warnings_for(request.user).filter(pk__in=ids).values_list("person_id", "region_id"))
            region = next((g.region_code for g in liaison_grants(request.user, department)), "")
            outbound.record(acting_user=request.user, kind=DeliveryKind.WARNINGS, department=department,
                            region_code=region, period=request.query_params.get("year") or "all", file_format="json",
                            channel="api", person_ids=[p for p, _r in people], api_token_hint=token_hint(request))
        return response

    @extend_schema(summary="Record what was done (纳入救助 / 不符合条件 / 已帮扶 / other)", request=s.OutcomeSerializer,
                   responses={200: s.WarningSerializer, **error_responses(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        body = s.OutcomeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        warning = services.record_outcome(acting_user=request.user, warning_id=int(pk), **body.validated_data)
        return Response(s.WarningSerializer(warning).data)


@extend_schema_view(list=extend_schema(summary="Monitoring runs of your regions"))
class MonitoringRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_required = "exchange.view_monitoring"
    serializer_class = s.MonitoringRunSerializer

    def get_queryset(self):
        return selectors.monitoring_runs_for(self.request.user)

    @extend_schema(summary="Run monitoring for a region and year now", request=s.RunRequestSerializer,
                   responses={201: s.MonitoringRunSerializer, **error_responses(400, 403)})
    def create(self, request):
        body = s.RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.start_run(acting_user=request.user, trigger="api", year=body.validated_data.get("year"),
                                   region_code=body.validated_data["region"])
        run.refresh_from_db()
        return Response(s.MonitoringRunSerializer(run).data, status=status.HTTP_201_CREATED)
