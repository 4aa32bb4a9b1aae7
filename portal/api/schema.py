"""OpenAPI postprocessing: document the answers Django REST framework gives by itself.

Every part documents its own answers (``extend_schema(responses=...)``). A few come from the
framework for any operation, whatever the view says, and were missing from the schema (found by
the API fuzzing in ``tests/security``):

* 415 when the body's media type is not one the operation reads (any operation with a body),
* 400 when the body cannot be parsed (any operation with a body that documents no 400),
* 400 when a query parameter's value is not one the list reads (a filter's FilterSet names the
  parameter and the reason), for any operation with query parameters other than paging,
* 404 for an id that does not exist or lies outside the caller's regions (any operation with a
  path parameter), and for a list's ``cursor`` / ``page`` that the list never gave,
* 403 for a role the view's declared permission (``permission_required``, checked by
  ``portal.permissions.DeclaredPermission``) does not allow.

An answer an operation documents itself is left as it is.
"""
from __future__ import annotations

import re

FRAMEWORK_ERROR = {
    "type": "object",
    "description": "An error answered by the framework: a message, and usually a machine code.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
BAD_INPUT = {
    "type": "object",
    "description": "Bad input: a message (detail), or the messages per field.",
    "additionalProperties": True,
}
METHODS = ("get", "post", "put", "patch", "delete")


def document_framework_errors(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("FrameworkError", FRAMEWORK_ERROR)
    schemas.setdefault("BadInput", BAD_INPUT)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/FrameworkError"}}}
    bad_input = {"application/json": {"schema": {"$ref": "#/components/schemas/BadInput"}}}
    declared = _declared_permissions(generator)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])

            def add(code: int, description: str, content=error, responses=responses):
                responses.setdefault(str(code), {"description": description, "content": content})

            if "requestBody" in operation:
                add(400, "The body could not be read, or its values are not valid.", bad_input)
                add(415, "The body's media type is not one this operation reads.")
            if any(p.get("in") == "query" and p.get("name") not in ("cursor", "page") for p in parameters):
                add(400, "A query parameter's value is not valid; the messages name the parameter.", bad_input)
            if any(p.get("in") == "path" for p in parameters):
                add(404, "Not found, or outside your regions.")
            if any(p.get("in") == "query" and p.get("name") in ("cursor", "page") for p in parameters):
                add(404, "No such page: the cursor or page number is not one this list gave.")
            permission = declared.get((_shape(path), method))
            if permission:
                add(403, f"Not for your role: this needs the permission {permission}.")
    return result


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _declared_permissions(generator) -> dict[tuple[str, str], str]:
    """(path shape, method) → the permission its view declares."""
    out = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        name = getattr(getattr(callback, "cls", None), "permission_required", None)
        if name:
            out[(_shape(path), method.lower())] = name
    return out
