"""Fuzzing the API with Schemathesis (issue "Proof under load, faults and hostile input", item 5).

Every operation of the OpenAPI schema (the document ``/api/schema/`` serves signed-in users, built
directly and driving the WSGI app) × every role (one liaison per permission class, ``matrix.ROLES``), each signed in with its own API token
(``Authorization: Token …``), on the security world (both regions' objects exist, so half of the
generated calls aim at real ids, of the caller's region and of the other). Each response must:

* not be a server error (5xx),
* have a status code the schema documents for the operation,
* have a documented content type, headers and a body matching the documented schema.

Cases per (operation, role): ``PORTAL_FUZZ_EXAMPLES`` (default 3); the total is printed at the end
of the run and must reach 1 000 when the whole module runs. Positive and negative (schema-violating)
data are both generated (``PORTAL_FUZZ_MODES``, default ``positive,negative``).
"""
from __future__ import annotations

import os

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .matrix import ROLES as MATRIX_ROLES
from .matrix import openapi

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "3"))
MODES = [m for m in os.environ.get("PORTAL_FUZZ_MODES", "positive,negative").split(",") if m]
MINIMUM_CASES = 1000
ROLES = [r for r in MATRIX_ROLES if r != "anonymous"]  # one actor per permission class
REGION = "360700"

# POST /api/v1/auth/logout/ revokes the caller's token, which every later case of the role uses: it is
# tested on its own (tests/security/test_headers_and_sessions.py).
REVOKING = {("POST", "/api/v1/auth/logout/")}
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in openapi()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete") and (method.upper(), path) not in REVOKING
)
PARAMS = [(role, method, path) for method, path in OPERATIONS for role in ROLES]
COUNT = {"cases": 0, "tests": 0, "by_status": {}}


class App:
    """Django's WSGI handler, kept inside the test's transaction: like Django's test client, it
    does not close the database connection at the start and end of each request."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.handler(environ, start_response)
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(django_db_blocker):
    import json

    import schemathesis
    from drf_spectacular.renderers import OpenApiJsonRenderer

    # /api/schema/ is for signed-in users only: the same document, built directly, driving the WSGI app
    with django_db_blocker.unblock():
        loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(openapi())))
        loaded.app = App()
        return loaded


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
            response_schema_conformance]


def _ids_for(world, path: str) -> list:
    """Real ids for an operation's ``{id}``: the objects of both regions of the operation's model."""
    import re

    from .discovery import endpoints, param_model

    sample = re.sub(r"\{[^}]+\}", "1", path)
    for e in endpoints():
        if not e.api or not e.params:
            continue
        try:
            from django.urls import reverse

            url = reverse(e.name, kwargs={p: "1" for p in e.params})
        except Exception:  # noqa: BLE001
            continue
        if url == sample:
            label = param_model(e, e.params[0])
            if label == "regions.Region":
                return ["360700", "130900", "360702"]
            ids = []
            for side in world.sides.values():
                ids += side.ids.get(label, [])
            return ids
    return []


@pytest.mark.parametrize("role, method, path", PARAMS, ids=[f"{r}@{REGION}-{m} {p}" for r, m, p in PARAMS])
def test_api_fuzz(world, api_schema, role, method, path):
    from schemathesis.generation import GenerationMode

    operation = api_schema[path][method]
    token = world.side(REGION).tokens[role]
    checks = _checks()
    real_ids = _ids_for(world, path)
    strategies = [operation.as_strategy(generation_mode=GenerationMode(m)) for m in MODES]
    statuses = COUNT["by_status"]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies), data=st.data())
    def run(case, data):
        if real_ids and case.path_parameters and data.draw(st.booleans(), label="real id"):
            name = next(iter(case.path_parameters))
            case.path_parameters[name] = data.draw(st.sampled_from(real_ids), label="id")
        response = case.call(headers={"Authorization": f"Token {token}"})
        COUNT["cases"] += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks, headers={"Authorization": f"Token {token}"})

    run()
    COUNT["tests"] += 1


def test_fuzz_total():
    """At least 1 000 generated calls when the whole module ran (printed in the summary)."""
    if COUNT["tests"] < len(PARAMS):
        pytest.skip(f"only {COUNT['tests']} of {len(PARAMS)} fuzz tests ran")
    print(f"\nschemathesis: {COUNT['cases']} cases over {len(OPERATIONS)} operations × {len(ROLES)} roles; "
          f"statuses {dict(sorted(COUNT['by_status'].items()))}")
    assert COUNT["cases"] >= MINIMUM_CASES
