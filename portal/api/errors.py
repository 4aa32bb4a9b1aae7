"""The API's one exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) and the schema of its
one error body (see ``portal.errors``)."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import PortalCode, PortalError, error_body, field_messages

_STATUS_CODES = {400: PortalCode.INVALID, 401: "not_authenticated", 403: "permission_denied", 404: PortalCode.NOT_FOUND,
                 405: "method_not_allowed", 406: "not_acceptable", 409: PortalCode.CONFLICT,
                 415: "unsupported_media_type", 429: PortalCode.THROTTLED}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"claims[0].total": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
        else:
            for i, value in enumerate(detail):
                for k, v in _flatten(value, f"{prefix}[{i}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _invalid(fields: dict[str, list[str]]) -> Response:
    first = next((ms[0] for ms in fields.values() if ms), _("Invalid input."))
    field = next(iter(fields)) if fields else None
    if field == "non_field_errors":
        field = None
    return Response(error_body(first, code=PortalCode.INVALID, fields=fields, field=field),
                    status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc, context):
    if isinstance(exc, PortalError):
        return Response(exc.api_body(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        return _invalid(field_messages(exc))
    if isinstance(exc, RequestDataTooBig):  # Django's cap on a body read whole (a 413, not an HTML 400)
        return Response(error_body(_("The request body is larger than %(mb)s MB.") % {
            "mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024) or 1}, code=PortalCode.TOO_LARGE),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DRFValidationError):
        return _invalid(_flatten(exc.detail))
    data = response.data
    detail = data.get("detail") if isinstance(data, dict) else None
    code = getattr(detail, "code", None) or getattr(exc, "default_code", None) or _STATUS_CODES.get(
        response.status_code, "error")
    response.data = error_body(str(detail) if detail is not None else str(exc), code=code)
    return response


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    detail = serializers.CharField(help_text="A message a person can act on, in the reader's language.")
    code = serializers.CharField(help_text="A machine code (the domain's enum of codes).")
    field = serializers.CharField(required=False, help_text="The input the problem belongs to, when it is one.")
    errors = serializers.ListField(child=serializers.CharField(),
                                   help_text="Every problem, each naming its field (`claims[2].total: …`).")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="The problems per field.")


DESCRIPTIONS = {
    400: "Bad input; the messages name the field and the reason.",
    403: "Your role or region does not allow this.",
    404: "Not found, or outside your regions.",
    409: "Already done, or not possible in its current state.",
    429: "Too many attempts; try again later.",
}


def error_responses(*codes: int, **descriptions) -> dict:
    """``extend_schema(responses={..., **error_responses(400, 404)})``."""
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions.get(f"d{code}", DESCRIPTIONS.get(code, "")))
            for code in codes}
