"""The fund-impact simulation of a draft, over the API (issue 12): start it, read its progress and
report. Policy admins of the draft's region (and superusers) only; errors in the API's one body."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import error_responses
from portal.errors import NotFound

from .. import selectors, simulation
from ..models import PolicySimulation


class StartSimulationSerializer(serializers.Serializer):
    year = serializers.IntegerField(help_text="The year of the claims to simulate (e.g. 2024).")


class SimulationSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True, help_text="Per cent of the parts done.")
    is_current = serializers.BooleanField(read_only=True, help_text="False when the draft changed since it was simulated.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    report = serializers.JSONField(read_only=True, allow_null=True,
                                   help_text="The report once finished: totals before → after (yuan, as text), people "
                                             "and cases up/down, by category and claim kind, caps and monitoring "
                                             "thresholds newly reached, the 20 largest changes with their cases, "
                                             "refusals by reason (each with its problem: code, params, path, and "
                                             "the reason worded in the reader's language), the year's budget "
                                             "against the projected spend.")

    class Meta:
        model = PolicySimulation
        fields = ["id", "version", "region", "year", "status", "progress", "chunks_done", "chunks_total",
                  "person_years", "is_current", "created_by", "created_at", "finished_at", "error", "report"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["report"] = simulation.worded_report(data.get("report"))
        return data


def _draft(request, pk) -> object:
    version = selectors.visible_versions(request.user).filter(pk=pk).first()
    if version is None:
        raise NotFound("No such policy version.")
    return version


class VersionSimulationsView(APIView):
    """The simulations of a draft: start one (POST), list them (GET)."""

    permission_required = "policies.view_policies"
    serializer_class = SimulationSerializer

    @extend_schema(operation_id="policy_versions_simulations_start",
                   summary="Simulate the draft over its region's claims of a year (runs in the background)",
                   request=StartSimulationSerializer,
                   responses={202: SimulationSerializer, **error_responses(400, 403, 404)})
    def post(self, request, pk: int):
        version = _draft(request, pk)
        body = StartSimulationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sim = simulation.start_simulation(acting_user=request.user, version=version, year=body.validated_data["year"])
        sim.refresh_from_db()
        return Response(SimulationSerializer(sim).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="policy_versions_simulations_list", summary="The draft's simulations, latest first",
                   responses={200: SimulationSerializer(many=True), **error_responses(403, 404)})
    def get(self, request, pk: int):
        version = _draft(request, pk)
        if not simulation.may_simulate(request.user, version):
            raise NotFound("No such policy version.")
        sims = PolicySimulation.objects.filter(version=version).select_related("version", "created_by")
        return Response(SimulationSerializer(sims, many=True).data)


class SimulationView(APIView):
    """One simulation: its progress and, once finished, its report."""

    permission_required = "policies.view_policies"
    serializer_class = SimulationSerializer

    @extend_schema(operation_id="policy_simulations_retrieve", summary="A simulation's progress and report",
                   responses={200: SimulationSerializer, **error_responses(404)})
    def get(self, request, pk: int):
        return Response(SimulationSerializer(simulation.simulation_for(request.user, pk)).data)
