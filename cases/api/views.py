"""Cases API views: thin — parse, call a service or a selector, serialize.

Scoping: every queryset comes from ``cases.selectors`` (region-scoped), so a case outside the
caller's regions is a 404, exactly like a case that does not exist. Service refusals map to
409 (conflict), 403 (role, region, four eyes), 400 (bad input, missing reason), 404.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from portal.api.errors import error_responses
from portal.uploads import ErrorPagination

from .. import selectors
from ..filters import CaseFilter, PersonFilter
from ..imports.national import receive_claim_import
from ..models import (
    Adjustment,
    AdjustmentStatus,
    Application,
    BankReturn,
    Claim,
    ClaimImport,
    Identity,
    IdentityEntry,
    IdNumberView,
    PaymentBatch,
    Person,
)
from ..services import adjustments as adjustment_service
from ..services import applications, bank_returns, claims, payments, persons, workflow
from ..services.errors import NotFound
from . import serializers as s


def _errors(*codes: int) -> dict:
    return error_responses(*codes, d403="Your role does not allow this here (role, region or four eyes).")


class KeysetPagination(CursorPagination):
    """Keyset (cursor) pagination on the primary key: constant time per page, no COUNT(*).
    Views may choose the direction with ``cursor_ordering(request)``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        chooser = getattr(view, "cursor_ordering", None)
        if chooser is not None:
            return (chooser(request),)
        return (self.ordering,)


def _int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    # plain ASCII digits within a database integer (never -1, ١٢, 1e3 or 20 digits)
    if not (value.isascii() and value.isdigit()) or int(value) > 2**63 - 1 or (name == "year" and not 1 <= int(value) <= 9999):
        raise DjangoValidationError({name: [_("Enter a whole number.")]})
    return int(value)


def _visible_person(user, person_id) -> Person:
    person = selectors.visible_persons(user).filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    return person


# --- Persons ----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Persons (masked identity numbers)",
        description="Filters: `cases.filters.PersonFilter`. A full identity number is not taken from the URL "
                    "(access logs keep URLs): post it to `persons/search/`.",
        responses={200: s.PersonSerializer(many=True), **_errors(400, 404)},
    ),
    retrieve=extend_schema(summary="A person", responses={200: s.PersonSerializer, **_errors(404)}),
)
class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.view_persons"
    serializer_class = s.PersonSerializer
    pagination_class = KeysetPagination
    queryset = Person.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = PersonFilter

    def get_queryset(self):
        # region scoping first (the selector), then the filter (DjangoFilterBackend)
        return selectors.visible_persons(self.request.user).select_related("region", "household").order_by("-id")

    @extend_schema(summary="Search persons by a full identity number (POST keeps it out of URLs and logs)",
                   request=s.PersonSearchSerializer, responses={200: s.PersonSerializer(many=True), **_errors(400)})
    @action(detail=False, methods=["post"], url_path="search", filter_backends=[], pagination_class=None)
    def search(self, request):
        data = s.PersonSearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        filterset = PersonFilter(data.validated_data, queryset=self.get_queryset(), request=request,
                                 full_number_ok=True)
        if not filterset.is_valid():
            raise DjangoValidationError(filterset.errors)
        return Response(s.PersonSerializer(filterset.qs[:50], many=True).data)

    @extend_schema(summary="Register a person", request=s.PersonWriteSerializer,
                   responses={201: s.PersonSerializer, **_errors(400, 403)})
    def create(self, request):
        data = s.PersonWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = persons.create_person(acting_user=request.user, **data.validated_data)
        return Response(s.PersonSerializer(person).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Correct a person", request=s.PersonWriteSerializer(partial=True),
                   responses={200: s.PersonSerializer, **_errors(400, 403, 404)})
    def partial_update(self, request, pk=None):
        person = self.get_object()
        data = s.PersonWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        person = persons.update_person(acting_user=request.user, person_id=person.pk, **data.validated_data)
        return Response(s.PersonSerializer(person).data)

    @extend_schema(summary="Show the full identity number (recorded)", request=s.RevealRequestSerializer,
                   responses={200: s.RevealResponseSerializer, **_errors(400, 403, 404)})
    @action(detail=True, methods=["post"], url_path="reveal-id-number")
    def reveal_id_number(self, request, pk=None):
        person = self.get_object()
        data = s.RevealRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        number = persons.reveal_id_number(
            acting_user=request.user, person=person, channel=IdNumberView.Channel.API,
            context=data.validated_data.get("context") or f"API persons/{person.pk}", reason=data.validated_data["reason"],
        )
        return Response({"id_number": number})


@extend_schema_view(list=extend_schema(summary="Households", responses={200: s.HouseholdSerializer(many=True), **_errors(404)}))
class HouseholdViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_required = "cases.view_persons"
    serializer_class = s.HouseholdSerializer
    pagination_class = KeysetPagination

    def get_queryset(self):
        from portal.roles.scoping import scope_queryset

        from ..access import PERSON_READ_ROLES
        from ..models import Household

        return scope_queryset(Household.objects.all(), self.request.user, roles=PERSON_READ_ROLES)

    @extend_schema(summary="Register a household", request=s.HouseholdSerializer,
                   responses={201: s.HouseholdSerializer, **_errors(400, 403)})
    def create(self, request):
        data = s.HouseholdSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        household = persons.create_household(acting_user=request.user, region_code=v["region_id"], number=v.get("number", ""),
                                             head_name=v.get("head_name", ""), address=v.get("address", ""))
        return Response(s.HouseholdSerializer(household).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Identities", parameters=[OpenApiParameter("person", int, description="Person id")],
                       responses={200: s.IdentitySerializer(many=True), **_errors(400, 404)}),
    retrieve=extend_schema(summary="An identity", responses={200: s.IdentitySerializer, **_errors(404)}),
)
class IdentityViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.view_persons"
    serializer_class = s.IdentitySerializer
    pagination_class = KeysetPagination
    queryset = Identity.objects.none()

    def get_queryset(self):
        qs = Identity.objects.filter(person__in=selectors.visible_persons(self.request.user).values("pk"))
        person = _int_param(self.request, "person")
        if person:
            qs = qs.filter(person_id=person)
        return qs

    @extend_schema(
        summary="Record an identity period",
        description="The owning department's liaison records the identity at once (201, the identity). A "
                    "caseworker or reviewer enters it on evidence (202, an identity entry with status pending): it "
                    "counts in no settlement until a second reviewer confirms it (POST "
                    "/identity-entries/{id}/confirm/).",
        request=s.IdentityWriteSerializer,
        responses={201: s.IdentitySerializer, 202: s.IdentityEntrySerializer, **_errors(400, 403, 404)})
    def create(self, request):
        data = s.IdentityWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        person = _visible_person(request.user, v["person_id"])
        recorded = persons.add_identity(acting_user=request.user, person_id=person.pk, category=v["category"],
                                        start=v["start"], end=v.get("end"), method=v.get("method"),
                                        reference=v.get("reference", ""), source="api")
        if isinstance(recorded, IdentityEntry):
            return Response(s.IdentityEntrySerializer(recorded).data, status=status.HTTP_202_ACCEPTED)
        return Response(s.IdentitySerializer(recorded).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="End an identity period", request=s.IdentityCloseSerializer,
                   responses={200: s.IdentitySerializer, **_errors(400, 403, 404)})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        identity = self.get_object()
        data = s.IdentityCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identity = persons.close_identity(acting_user=request.user, identity_id=identity.pk, **data.validated_data)
        return Response(s.IdentitySerializer(identity).data)


@extend_schema_view(
    list=extend_schema(summary="Identity entries waiting for you (second reviewer)",
                       parameters=[OpenApiParameter("person", int, description="Person id: all entries of the person")],
                       responses={200: s.IdentityEntrySerializer(many=True), **_errors(400, 404)}),
    retrieve=extend_schema(summary="An identity entry", responses={200: s.IdentityEntrySerializer, **_errors(404)}),
)
class IdentityEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """Identities entered by bureau staff. Without ``person``: the pending entries the caller may
    decide (reviewer of the region, not the one who entered it)."""

    permission_required = "cases.view_persons"
    serializer_class = s.IdentityEntrySerializer
    pagination_class = KeysetPagination
    queryset = IdentityEntry.objects.none()

    def get_queryset(self):
        person = _int_param(self.request, "person")
        if person or self.action != "list":
            qs = IdentityEntry.objects.filter(person__in=selectors.visible_persons(self.request.user).values("pk"))
            qs = qs.select_related("entered_by", "decided_by")
            return qs.filter(person_id=person) if person else qs
        return selectors.identity_entries_to_decide(self.request.user)

    @extend_schema(summary="Confirm an identity entry (second reviewer)", request=None,
                   responses={200: s.IdentitySerializer, **_errors(403, 404, 409)})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        entry = self.get_object()
        identity = persons.confirm_identity_entry(acting_user=request.user, entry_id=entry.pk)
        return Response(s.IdentitySerializer(identity).data)

    @extend_schema(summary="Reject an identity entry (second reviewer)", request=s.IdentityEntryRejectSerializer,
                   responses={200: s.IdentityEntrySerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        entry = self.get_object()
        data = s.IdentityEntryRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = persons.reject_identity_entry(acting_user=request.user, entry_id=entry.pk,
                                              reason=data.validated_data["reason"])
        return Response(s.IdentityEntrySerializer(entry).data)


# --- Claims -----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Claims",
        parameters=[
            OpenApiParameter("person", int, description="Person id"),
            OpenApiParameter("year", int, description="Calendar year of the settlement date"),
            OpenApiParameter("unattached", bool, description="Only claims no open case holds"),
        ],
        responses={200: s.ClaimSerializer(many=True), **_errors(400, 404)},
    ),
    retrieve=extend_schema(summary="A claim", responses={200: s.ClaimSerializer, **_errors(404)}),
)
class ClaimViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.read_cases"
    serializer_class = s.ClaimSerializer
    pagination_class = KeysetPagination
    queryset = Claim.objects.none()

    def get_queryset(self):
        qs = selectors.visible_claims(self.request.user)
        person = _int_param(self.request, "person")
        year = _int_param(self.request, "year")
        if person:
            qs = qs.filter(person_id=person)
        if year:
            qs = qs.filter(date__year=year)
        if self.request.query_params.get("unattached") in ("1", "true", "True"):
            qs = qs.exclude(application_links__active=True)
        return qs

    @extend_schema(summary="Enter a claim", request=s.ClaimWriteSerializer,
                   responses={201: s.ClaimSerializer, **_errors(400, 403, 404, 409)})
    def create(self, request):
        data = s.ClaimWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        person = _visible_person(request.user, v.pop("person_id"))
        application_id = v.pop("application_id", None)
        if application_id is not None:
            selectors.get_application(request.user, application_id)
        claim = claims.create_claim(acting_user=request.user, person_id=person.pk, application_id=application_id, **v)
        return Response(s.ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Correct a claim", request=s.ClaimUpdateSerializer,
                   responses={200: s.ClaimSerializer, **_errors(400, 403, 404, 409)})
    def partial_update(self, request, pk=None):
        claim = self.get_object()
        data = s.ClaimUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        claim = claims.update_claim(acting_user=request.user, claim_id=claim.pk, **data.validated_data)
        return Response(s.ClaimSerializer(claim).data)

    @extend_schema(summary="Void a claim entered by mistake or twice (it stays on record and stops counting)",
                   request=s.ClaimVoidSerializer, responses={200: s.ClaimSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path="void")
    def void(self, request, pk=None):
        claim = self.get_object()
        data = s.ClaimVoidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = claims.void_claim(acting_user=request.user, claim_id=claim.pk, reason=data.validated_data["reason"])
        return Response(s.ClaimSerializer(claim).data)

    @extend_schema(summary="Import settlement records (CSV or .xlsx, national field names)",
                   description="The file is checked against the limits and for its required columns at once, "
                               "then imported by a worker: poll GET /claim-imports/{id}/ (status, progress) and "
                               "page through its problems with GET /claim-imports/{id}/errors/?page=. The same "
                               "file sent again answers 200 with the earlier import (created: false) unless "
                               "again=true and that import is finished.",
                   request={"multipart/form-data": s.ClaimImportUploadSerializer},
                   responses={201: s.ClaimImportSerializer, 200: s.ClaimImportSerializer, **_errors(400, 403)})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise DjangoValidationError({"file": [_("Choose a CSV or Excel file to import.")]})
        data = s.ClaimImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = receive_claim_import(acting_user=request.user, fileobj=upload, filename=upload.name,
                                      again=data.validated_data.get("again", False))
        record.refresh_from_db()
        code = status.HTTP_201_CREATED if getattr(record, "created", False) else status.HTTP_200_OK
        return Response(s.ClaimImportSerializer(record).data, status=code)

    @extend_schema(summary="The import's column mapping", responses={200: s.ImportColumnSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="import-format", pagination_class=None)
    def import_format(self, request):
        return Response(s.ImportColumnSerializer(selectors.claim_import_format(), many=True).data)


@extend_schema_view(
    list=extend_schema(summary="My claim imports and their row reports",
                       responses={200: s.ClaimImportSerializer(many=True), **_errors(404)}),
    retrieve=extend_schema(summary="A claim import and its row report", responses={200: s.ClaimImportSerializer, **_errors(404)}),
)
class ClaimImportViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.do_casework"
    serializer_class = s.ClaimImportSerializer
    pagination_class = KeysetPagination
    queryset = ClaimImport.objects.none()

    def get_queryset(self):
        return selectors.visible_imports(self.request.user).select_related("uploaded_by")

    @extend_schema(summary="The problems of a claim import, a page at a time (?page=, with the count)",
                   responses={200: s.ClaimImportErrorSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"], pagination_class=ErrorPagination)
    def errors(self, request, pk=None):
        record = self.get_object()
        page = self.paginate_queryset(record.row_errors.order_by("row", "id"))
        return self.get_paginated_response(s.ClaimImportErrorSerializer(page, many=True).data)


# --- Applications -------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Applications (cases)",
        description="Filters: `cases.filters.CaseFilter` (a full identity number is not taken from the URL).",
        parameters=[
            OpenApiParameter("queue", str, enum=list(selectors.QUEUES), description="my_drafts, to_review, to_approve, to_pay"),
        ],
        responses={200: s.ApplicationSerializer(many=True), **_errors(400, 404)},
    ),
)
class ApplicationViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.view_case"
    serializer_class = s.ApplicationSerializer
    pagination_class = KeysetPagination
    queryset = Application.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def cursor_ordering(self, request):
        return selectors.queue_ordering(request.query_params.get("queue"))

    def get_queryset(self):
        params = self.request.query_params
        if self.action != "list":
            return selectors.visible_applications(self.request.user)
        queue = params.get("queue") or None
        if queue and queue not in selectors.QUEUES:
            raise DjangoValidationError({"queue": [_("Unknown queue “%(q)s”.") % {"q": queue}]})
        # region scoping first (the queue's selector), then the filter (DjangoFilterBackend)
        return selectors.queue(self.request.user, queue=queue)

    def _detail(self, request, pk, *, just_acted=False):
        bundle = selectors.case_detail(request.user, int(pk), just_acted=just_acted)
        return Response(s.ApplicationDetailSerializer(bundle, context={"request": request}).data)

    @extend_schema(summary="A case with settlement, events and allowed actions",
                   responses={200: s.ApplicationDetailSerializer, **_errors(404)})
    def retrieve(self, request, pk=None):
        return self._detail(request, pk)

    @extend_schema(summary="Open a draft case", request=s.ApplicationWriteSerializer,
                   responses={201: s.ApplicationDetailSerializer, **_errors(400, 403, 404, 409)})
    def create(self, request):
        data = s.ApplicationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        person = _visible_person(request.user, v.pop("person_id"))
        app = applications.create_application(acting_user=request.user, person_id=person.pk, **v)
        response = self._detail(request, app.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(summary="Change a draft or returned case", request=s.ApplicationUpdateSerializer,
                   responses={200: s.ApplicationDetailSerializer, **_errors(400, 403, 404, 409)})
    def partial_update(self, request, pk=None):
        app = self.get_object()
        data = s.ApplicationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        applications.update_application(acting_user=request.user, application_id=app.pk, **data.validated_data)
        return self._detail(request, app.pk)

    @extend_schema(summary="Move the case along the workflow", request=s.TransitionSerializer,
                   responses={200: s.ApplicationDetailSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        app = self.get_object()
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workflow.transition(acting_user=request.user, application_id=app.pk, action=v["action"],
                            comment=v.get("comment", ""), expected_state=v.get("expected_state"),
                            category=v.get("category"))
        return self._detail(request, app.pk, just_acted=True)

    @extend_schema(summary="Attach claims", request=s.ClaimIdsSerializer,
                   responses={200: s.ApplicationDetailSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path="claims/add")
    def add_claims(self, request, pk=None):
        app = self.get_object()
        data = s.ClaimIdsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        applications.add_claims(acting_user=request.user, application_id=app.pk, claim_ids=data.validated_data["claim_ids"])
        return self._detail(request, app.pk)

    @extend_schema(summary="Detach claims", request=s.ClaimIdsSerializer,
                   responses={200: s.ApplicationDetailSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path="claims/remove")
    def remove_claims(self, request, pk=None):
        app = self.get_object()
        data = s.ClaimIdsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        applications.remove_claims(acting_user=request.user, application_id=app.pk, claim_ids=data.validated_data["claim_ids"])
        return self._detail(request, app.pk)

    @extend_schema(summary="The settlement slip (一单制)", responses={200: s.SlipSerializer, **_errors(404, 409)})
    @action(detail=True, methods=["get"])
    def slip(self, request, pk=None):
        app = self.get_object()
        return Response(s.SlipSerializer(selectors.slip_data(request.user, app.pk)).data)


# --- Payments --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Payment batches", responses={200: s.PaymentBatchSerializer(many=True), **_errors(404)}),
    retrieve=extend_schema(summary="A payment batch with its lines", responses={200: s.PaymentBatchDetailSerializer, **_errors(404)}),
)
class PaymentBatchViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.view_batches"
    serializer_class = s.PaymentBatchSerializer
    pagination_class = KeysetPagination
    queryset = PaymentBatch.objects.none()

    def get_queryset(self):
        return selectors.visible_batches(self.request.user)

    def retrieve(self, request, pk=None):
        batch, lines = selectors.batch_detail(request.user, int(pk))
        batch.lines_list = lines
        data = s.PaymentBatchSerializer(batch).data
        data["lines"] = s.PaymentLineSerializer(lines, many=True).data
        data["skipped"] = []
        return Response(data)

    @extend_schema(summary="Build a batch from approved cases and pending adjustments", request=s.PaymentBatchCreateSerializer,
                   responses={201: s.PaymentBatchDetailSerializer, **_errors(400, 403, 409)})
    def create(self, request):
        data = s.PaymentBatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        batch = payments.create_batch(
            acting_user=request.user, region_code=v["region_code"], application_ids=v.get("application_ids"),
            adjustment_ids=v.get("adjustment_ids"), note=v.get("note", ""), request_key=v.get("request_key") or None,
        )
        body = s.PaymentBatchSerializer(batch).data
        body["lines"] = s.PaymentLineSerializer(batch.lines.select_related("application", "application__person"), many=True).data
        body["skipped"] = [{"item": item, "reason": reason} for item, reason in getattr(batch, "skipped", [])]
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The bank file (CSV with BOM, or Excel)",
        parameters=[OpenApiParameter("file_format", str, enum=["csv", "xlsx"], description="csv (default) or xlsx")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY,
                   (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
                   **_errors(400, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        batch = self.get_object()
        filename, content_type, content = payments.export_batch(
            acting_user=request.user, batch_id=batch.pk, fmt=request.query_params.get("file_format", "csv"))
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    @extend_schema(summary="Record the bank's result per line", request=s.PaymentResultsSerializer,
                   responses={200: s.PaymentBatchDetailSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def results(self, request, pk=None):
        batch = self.get_object()
        data = s.PaymentResultsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payments.record_results(acting_user=request.user, batch_id=batch.pk, results=data.validated_data["results"])
        return self.retrieve(request, pk=batch.pk)

    @extend_schema(
        methods=["POST"],
        summary="Upload the bank's return file (回盘文件) of the batch",
        description="CSV (UTF-8 with or without BOM, GBK, GB18030) or .xlsx, header "
                    "明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因 (the bank file's own columns are accepted "
                    "too). The size, the format and the header are checked at once; a worker reads and checks "
                    "every row and records the rows that pass — poll GET /bank-returns/{id}/, the rejected rows are "
                    "at GET /bank-returns/{id}/errors/?page=. The same file for the same batch is received once: 200 with the "
                    "earlier one instead of 201.",
        request={"multipart/form-data": s.BankReturnUploadSerializer},
        responses={201: s.BankReturnSerializer, 200: s.BankReturnSerializer, **_errors(400, 403, 404)},
    )
    @extend_schema(methods=["GET"], summary="The batch's return files, newest first",
                   responses={200: s.BankReturnSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get", "post"], url_path="bank-returns",
            parser_classes=[MultiPartParser, FormParser])
    def bank_returns(self, request, pk=None):
        batch = self.get_object()
        if request.method == "GET":
            return Response(s.BankReturnSerializer(selectors.bank_returns_of(request.user, batch.pk), many=True).data)
        upload = request.FILES.get("file")
        if upload is None:
            raise DjangoValidationError({"file": [_("Choose the bank's return file.")]})
        bank_return = bank_returns.receive_bank_return(acting_user=request.user, batch_id=batch.pk, fileobj=upload,
                                                       filename=upload.name)
        code = status.HTTP_201_CREATED if bank_return.created else status.HTTP_200_OK
        return Response(s.BankReturnSerializer(bank_return).data, status=code)


@extend_schema_view(
    retrieve=extend_schema(summary="A bank return file: status, counts and rejected rows",
                           responses={200: s.BankReturnSerializer, **_errors(404)}),
)
class BankReturnViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_required = "cases.view_batches"
    serializer_class = s.BankReturnSerializer
    queryset = BankReturn.objects.none()

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise NotFound(_("Bank return file not found.")) from None
        return selectors.bank_return_detail(self.request.user, pk)

    @extend_schema(summary="The rejected rows of a bank return file, a page at a time (?page=, with the count)",
                   responses={200: s.BankReturnErrorSerializer(many=True), **_errors(404)})
    @action(detail=True, methods=["get"], pagination_class=ErrorPagination)
    def errors(self, request, pk=None):
        bank_return = self.get_object()
        page = self.paginate_queryset(bank_return.row_errors.order_by("row", "id"))
        return self.get_paginated_response(s.BankReturnErrorSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Adjustments (supplementary payments and recoveries)",
                       parameters=[OpenApiParameter("status", str, enum=AdjustmentStatus.values),
                                   OpenApiParameter("application", int)],
                       responses={200: s.AdjustmentSerializer(many=True), **_errors(400, 404)}),
    retrieve=extend_schema(summary="An adjustment", responses={200: s.AdjustmentSerializer, **_errors(404)}),
)
class AdjustmentViewSet(viewsets.ReadOnlyModelViewSet):
    permission_required = "cases.read_cases"
    serializer_class = s.AdjustmentSerializer
    pagination_class = KeysetPagination
    queryset = Adjustment.objects.none()

    @extend_schema(summary="Review a 补发 (reviewer; not who caused it)", request=s.AdjustmentDecisionSerializer,
                   responses={200: s.AdjustmentSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        return self._decide(request, adjustment_service.review, "passed")

    @extend_schema(summary="Approve or reject a reviewed 补发 (approver; not its reviewer)",
                   request=s.AdjustmentDecisionSerializer,
                   responses={200: s.AdjustmentSerializer, **_errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, adjustment_service.decide, "approved")

    def _decide(self, request, service, flag):
        adj = self.get_object()
        data = s.AdjustmentDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        service(acting_user=request.user, adjustment_id=adj.pk, comment=v.get("comment", ""),
                expected_amount=v.get("expected_amount"), **{flag: v["passed"]})
        return Response(s.AdjustmentSerializer(selectors.visible_adjustments(request.user).get(pk=adj.pk)).data)

    def get_queryset(self):
        qs = selectors.visible_adjustments(self.request.user)
        st = self.request.query_params.get("status")
        if st:
            qs = qs.filter(status=st)
        app = _int_param(self.request, "application")
        if app:
            qs = qs.filter(application_id=app)
        return qs
