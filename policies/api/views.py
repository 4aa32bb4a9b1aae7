"""The settlement preview, and the policy versions and statistics of the caller's regions."""
from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import ErrorSerializer
from portal.errors import Invalid, NotFound
from portal.regions.models import Region
from portal.uploads import ErrorPagination

from .. import selectors, services
from ..models import PolicyImport, Statistic
from . import serializers as s


class DecimalJSONParser(JSONParser):
    """JSON whose numbers with a fraction are read as exact decimals (money is never a float)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=Decimal)
        except ValueError as exc:
            raise ParseError(f"input: not valid JSON ({exc})") from None
        except RecursionError:
            raise ParseError("input: not valid JSON (nested too deeply)") from None


class SettlementPreviewView(APIView):
    """Settle a settlement input (shared/spec/settlement.md) without storing anything."""

    parser_classes = [DecimalJSONParser]

    @extend_schema(
        operation_id="settlements_preview",
        summary="Settle claims under the region's policy (what-if; nothing is stored)",
        request=s.SettlementInputSerializer,
        parameters=[
            OpenApiParameter(
                "version", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                description="A policy version of your regions (e.g. an unpublished draft) to settle with, as if published.",
            )
        ],
        responses={
            200: s.SettlementResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad input or a policy that cannot settle it."),
            404: OpenApiResponse(ErrorSerializer, description="No such policy version in your regions."),
        },
    )
    def post(self, request):
        payload = request.data  # bad JSON: the exception handler answers 400
        draft_id = None
        raw = request.query_params.get("version")
        if raw:
            if not raw.isdigit():
                raise Invalid(f"version: {raw!r} is not a policy version number", field="version")
            draft_id = int(raw)
            if not selectors.whatif_versions(request.user).filter(pk=draft_id).exists():
                raise NotFound(f"version: no policy version {draft_id} in your regions", field="version")
        # Refused: in the reader's language (Accept-Language; Chinese by default), each naming its field.
        return Response(services.settle_payload(payload=payload, draft_version_id=draft_id))


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="The change was refused; the messages name the parameter."),
    403: OpenApiResponse(description="You are not a policy administrator of the version's region."),
}


class PolicyVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Policy versions of the caller's regions (and the published ones above them). Policy admins
    start drafts, change their parameters and publish them; auditors read."""

    permission_required = "policies.view_policies"
    serializer_class = s.PolicyVersionSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.versions_for_admin(self.request.user, region_code=params.get("region"), status=params.get("status"))

    def get_serializer_class(self):
        return s.PolicyVersionDetailSerializer if self.action == "retrieve" else s.PolicyVersionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("region", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False),
            OpenApiParameter("status", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                             enum=["draft", "published", "superseded", "withdrawn"]),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.StartVersionSerializer, responses={201: s.PolicyVersionSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start a new draft from this version."""
        source = self.get_object()
        body = s.StartVersionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        region = None
        if body.validated_data.get("region"):
            region = get_object_or_404(Region, code=body.validated_data["region"])
        draft = services.start_version(acting_user=request.user, from_version=source, region=region)
        return Response(s.PolicyVersionSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SetParameterSerializer, responses={200: s.PolicyVersionDetailSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def parameters(self, request, pk=None):
        """Set one parameter of a draft (null = unset)."""
        version = self.get_object()
        body = s.SetParameterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.set_parameter(
            acting_user=request.user, version=version, path=body.validated_data["path"],
            value=body.validated_data["value"],
        )
        return Response(s.PolicyVersionDetailSerializer(version).data)

    @extend_schema(
        operation_id="policy_versions_file",
        summary="The version as a policy file (JSON; every value with its clause)",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The policy file (docs/policy-file.md), as an attachment.")},
    )
    @action(detail=True, methods=["get"], url_path="file")
    def file(self, request, pk=None):
        """Download the version as a policy file."""
        version = self.get_object()
        response = HttpResponse(services.policy_file_text(version), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{services.policy_file_name(version)}"'
        return response

    @extend_schema(request=s.PublishSerializer, responses={200: s.PolicyVersionSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish a draft; the previous version is closed the day before it starts. The body must
        carry the version's document number as ``confirm_document``; ``simulation`` names the
        simulation looked at, recorded with the publication."""
        version = self.get_object()
        body = s.PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["simulation_id"] = data.pop("simulation", None)
        version = services.publish_version(acting_user=request.user, version=version, **data)
        return Response(s.PolicyVersionSerializer(version).data)


class StatisticViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Statistics of the caller's regions (and those above them). POST enters or changes the figure
    of a region, statistic and year (policy admins)."""

    permission_required = "policies.view_policies"
    serializer_class = s.StatisticSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.statistics_for_admin(self.request.user, region_code=params.get("region"), kind=params.get("kind"))

    @extend_schema(responses={201: s.StatisticSerializer, **ERROR_RESPONSES})
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        stat = services.set_statistic(
            acting_user=request.user, region=data["region"], kind=data["kind"], year=data["year"],
            value=data["value"], source=data["source"],
        )
        return Response(s.StatisticSerializer(Statistic.objects.select_related("region").get(pk=stat.pk)).data,
                        status=status.HTTP_201_CREATED)


class RawPolicyFileParser(BaseParser):
    """A policy file sent as the request body (``Content-Type: application/json``): kept as bytes,
    so that the import reads and validates it like an uploaded file."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        return {"raw": stream.read(services.MAX_POLICY_FILE_BYTES + 1)}


class PolicyFileImportView(APIView):
    """Import a policy file as a new draft: stored at once, read and validated by a worker."""

    permission_required = "policies.edit_version"
    parser_classes = [MultiPartParser, RawPolicyFileParser]

    @extend_schema(
        operation_id="policy_files_import",
        summary="Import a policy file as a new draft",
        description="Multipart with `file` (and optionally `region`), or the file itself as an "
                    "`application/json` body. The request checks the sender and the size and stores the "
                    "file; a worker checks it against the limits before parsing it and validates it whole. "
                    "Follow the import (`/api/v1/policy-imports/{id}/`): done, its draft is `version`; "
                    "failed, every problem is at `/api/v1/policy-imports/{id}/problems/` (paged) and "
                    "nothing is stored. The same file sent again while it is still being imported answers "
                    "with that import (200). A draft is never published.",
        request={"multipart/form-data": s.PolicyFileUploadSerializer, "application/json": OpenApiTypes.OBJECT},
        responses={
            201: s.PolicyImportSerializer,
            200: s.PolicyImportSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No file, an empty one or one too large."),
            403: OpenApiResponse(description="You are not a policy administrator (of the region chosen)."),
        },
    )
    def post(self, request):
        data = request.data  # unreadable: the exception handler answers 400
        upload = request.FILES.get("file")
        raw = data.get("raw") if hasattr(data, "get") else None
        region = data.get("region") if upload is not None and hasattr(data, "get") else None
        if upload is None and raw is None:
            raise Invalid(_("Choose a policy file to import."), field="file")
        if upload is not None:
            record = services.receive_policy_file(acting_user=request.user, region=region or None, fileobj=upload,
                                                  filename=upload.name)
        else:
            record = services.receive_policy_file(acting_user=request.user, content=raw, filename="request-body.json")
        created = record.created
        record = selectors.policy_imports_for(request.user).get(pk=record.pk)  # as the worker left it (eager mode)
        record.created = created
        return Response(s.PolicyImportSerializer(record).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema_view(
    list=extend_schema(summary="My policy file imports", responses={200: s.PolicyImportSerializer(many=True)}),
    retrieve=extend_schema(summary="A policy file import: its state, and its draft or why it failed",
                           responses={200: s.PolicyImportSerializer, 404: OpenApiResponse(ErrorSerializer)}),
)
class PolicyImportViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "policies.edit_version"
    serializer_class = s.PolicyImportSerializer
    queryset = PolicyImport.objects.none()

    def get_queryset(self):
        return selectors.policy_imports_for(self.request.user)

    @extend_schema(summary="The problems of a refused policy file, a page at a time (?page=, with the count)",
                   responses={200: s.PolicyImportProblemSerializer(many=True), 404: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["get"], pagination_class=ErrorPagination)
    def problems(self, request, pk=None):
        record = self.get_object()
        page = self.paginate_queryset(record.problems.order_by("position"))
        return self.get_paginated_response(s.PolicyImportProblemSerializer(page, many=True).data)
