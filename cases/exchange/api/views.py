"""Exchange API: what a department's system pushes and pulls, and the bureau's side of it.

Every queryset comes from ``cases.exchange.selectors`` (region- and department-scoped); refusals of
the services answer 400 (naming the field), 403, 404 or 409. A department pulling a list (warnings,
subsidised enrolments) is recorded as a delivery with the API token used.
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.api.errors import ErrorSerializer
from portal.api.parsers import LimitedJSONParser
from portal.roles.domain import Role

from .. import selectors
from ..errors import Invalid
from ..filters import PushFilter
from ..models import (
    ConfirmationStatus,
)
from ..services import confirmations, pushes
from . import serializers as s

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; the message names the field and the reason."),
    403: OpenApiResponse(ErrorSerializer, description="Your role or region does not allow this."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or outside your regions."),
    409: OpenApiResponse(ErrorSerializer, description="Already done, or not possible in its state."),
}


ERRORS[413] = OpenApiResponse(ErrorSerializer, description="The body is larger than this endpoint takes.")


class PushJSONParser(LimitedJSONParser):
    """A JSON push's body: at most ``MAX_JSON_BYTES`` (413), nested at most ``MAX_JSON_DEPTH`` deep (400)."""

    limits = pushes.JSON_LIMITS
    field = "rows"


JSON_PUSH_LIMITS = (
    f"Limits of one JSON push: at most {pushes.MAX_JSON_ROWS} rows (400, field `rows`), a body of at most "
    f"{pushes.MAX_JSON_BYTES // (1024 * 1024)} MB (413, field `rows`), nested at most {pushes.MAX_JSON_DEPTH} "
    "levels deep (400, field `rows`); the message says which limit, in the reader's language. Longer lists are "
    "uploaded as a file (`upload/`). A row with a NUL character or a text longer than 4096 characters is a "
    "rejected row naming the field; the other rows are applied."
)


def _errors(*codes):
    return {c: ERRORS[c] for c in codes}


def token_hint(request) -> str:
    """The first characters of the API token used (recorded with a push or a delivery)."""
    key = getattr(getattr(request, "auth", None), "key", None)
    return key[:8] if key else ""


def _department_and_region(request, data) -> tuple[str, str]:
    user = request.user
    departments = pushes.pushing_departments(user)
    department = (data.get("department") or "").strip()
    if not department:
        if len(departments) != 1:
            raise Invalid(_("department: say which department pushes (one of: %(d)s).")
                          % {"d": ", ".join(departments) or "—"}, field="department")
        department = departments[0]
    region = (data.get("region") or "").strip()
    if not region:
        regions = list(pushes.push_regions(user, department).values_list("code", flat=True)[:2])
        top = [r for r in regions if not any(r != o and r.startswith(o.rstrip("0")) for o in regions)]
        if len(top) != 1:
            raise Invalid(_("region: say which region the list is for."), field="region")
        region = top[0]
    return department, region


@extend_schema_view(
    list=extend_schema(summary="Pushes of your department (or, for bureau staff, of your regions)"),
    retrieve=extend_schema(summary="A push: status, progress and what it did", responses={200: s.PushSerializer,
                                                                                       **_errors(404)}),
)
class PushViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_required = "exchange.view_pushes"
    serializer_class = s.PushSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PushFilter
    parser_classes = [PushJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.pushes_for(self.request.user)

    @extend_schema(summary="Push rows as JSON (新增 / 退出)", request=s.PushCreateSerializer,
                   responses={201: s.PushSerializer, 200: s.PushSerializer, **_errors(400, 403, 413)},
                   description="Rows are checked and applied in the background; poll the push for its status. "
                               "The same rows sent again (same content) return the earlier push (200). "
                               + JSON_PUSH_LIMITS)
    def create(self, request):
        data = request.data
        if not isinstance(data, dict):
            raise Invalid(_("rows: send an object with a non-empty list of objects under \"rows\"."), field="rows")
        rows = data.get("rows")
        if isinstance(rows, list):
            pushes.check_row_count(rows)  # before the serializer looks at every row
        body = s.PushCreateSerializer(data=data)
        if not body.is_valid():
            raise Invalid(_("rows: send a non-empty list of objects."), field="rows")
        department, region = _department_and_region(request, data)
        push, created = pushes.receive_rows(acting_user=request.user, department=department, region_code=region,
                                            rows=list(rows), channel="api",
                                            api_token_hint=token_hint(request), name=body.validated_data.get("name", ""))
        push.refresh_from_db()
        return Response(s.PushSerializer(push).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Push a file (CSV or .xlsx)", request={"multipart/form-data": s.PushUploadSerializer},
                   responses={201: s.PushSerializer, 200: s.PushSerializer, **_errors(400, 403)})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(_("file: attach the list as a CSV or .xlsx file."), field="file")
        department, region = _department_and_region(request, request.data)
        push, created = pushes.receive_file(acting_user=request.user, department=department, region_code=region,
                                            fileobj=upload, filename=upload.name, channel="api",
                                            api_token_hint=token_hint(request))
        push.refresh_from_db()
        return Response(s.PushSerializer(push).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="The rows of a push that were not applied, with every reason",
                   responses={200: s.RejectedRowSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"])
    def rejected(self, request, pk=None):
        from ..services import rejected_rows

        push = self.get_object()
        page = self.paginate_queryset(push.rejected_rows.all())
        if page:
            rejected_rows.log_view(acting_user=request.user, push=push, channel="api", where=request.get_full_path()[:120])
        return self.get_paginated_response(s.RejectedRowSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Identity confirmation requests",
                       parameters=[OpenApiParameter("box", str, enum=["inbox", "sent"],
                                                    description="inbox: addressed to your department (default for "
                                                                "liaisons); sent: asked in your regions"),
                                   OpenApiParameter("status", str, enum=list(ConfirmationStatus.values))]),
    retrieve=extend_schema(summary="A confirmation request", responses={200: s.ConfirmationSerializer,
                                                                       **_errors(404)}),
)
class ConfirmationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    permission_required = "exchange.view_confirmations"
    serializer_class = s.ConfirmationSerializer

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            box = self.request.query_params.get("box") or ("inbox" if selectors.liaison_departments(user) else "sent")
            qs = selectors.confirmations_inbox(user, status=None) if box == "inbox" else selectors.confirmations_sent(user)
            wanted = self.request.query_params.get("status")
            if wanted:
                qs = qs.filter(status=wanted)
            return qs.order_by("-requested_at", "-id")
        return (selectors.confirmations_inbox(user, status=None) | selectors.confirmations_sent(user)).distinct()

    @extend_schema(summary="Ask the owning department to confirm an identity (the case waits)",
                   request=s.AskSerializer, responses={201: s.ConfirmationSerializer, **_errors(400, 403, 404, 409)})
    def create(self, request):
        body = s.AskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        req = confirmations.ask_department(acting_user=request.user, application_id=d["application"],
                                           category=d["category"], claimed_start=d["claimed_start"], note=d["note"])
        return Response(s.ConfirmationSerializer(req).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Confirm (the identity is recorded; the case goes back to review)",
                   request=s.ConfirmSerializer, responses={200: s.ConfirmationSerializer, **_errors(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        body = s.ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        req = confirmations.confirm(acting_user=request.user, request_id=int(pk), reference=d["reference"],
                                    start=d.get("start"), end=d.get("end"), note=d["note"])
        return Response(s.ConfirmationSerializer(req).data)

    @extend_schema(summary="Do not confirm, with a reason (the case goes back to review)",
                   request=s.RejectSerializer, responses={200: s.ConfirmationSerializer, **_errors(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        body = s.RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        req = confirmations.reject(acting_user=request.user, request_id=int(pk), reason=body.validated_data["reason"])
        return Response(s.ConfirmationSerializer(req).data)


def liaison_grants(user, department):
    from portal.roles.scoping import grants

    return [g for g in grants(user) if g.role == Role.LIAISON and g.department == department]


