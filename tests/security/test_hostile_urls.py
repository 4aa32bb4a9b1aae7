"""Malformed ids and ``%00`` in paths and query strings answer 400 or 404, never 500 (issue 13):
generated over every URL pattern of the portal (tests/security/discovery.py walks the resolver)."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.factories import make_user

from .discovery import VALUE_PARAMS, endpoints

pytestmark = pytest.mark.django_db

GETS = [e for e in endpoints() if "GET" in e.methods and not e.route.startswith(("api/schema", "api/docs"))]
# query parameters the pages and the API read (filters, paging, search)
QUERY_NAMES = ["q", "page", "year", "region", "status", "kind", "person", "person_id", "case", "batch", "month",
               "category", "department", "search", "id_number", "date", "from", "to", "version", "ordering", "state"]
HOSTILE_IDS = ["99999999999999999999", "0"]
HOSTILE_QUERY = ["%00", "1%00", "99999999999999999999", "-1", "abc", "%FF%FE", "1e400", "%E2%80%AE"]


def _url(endpoint, id_value: str) -> str | None:
    kwargs = {p: VALUE_PARAMS.get(p, (id_value,))[0] for p in endpoint.params}
    try:
        return reverse(endpoint.name, kwargs=kwargs)
    except NoReverseMatch:
        return None


@pytest.fixture
def _users(db):
    return {"superuser": make_user(superuser=True, username="hostile_su"),
            "caseworker": make_user("caseworker", username="hostile_cw")}


@pytest.mark.parametrize("endpoint", GETS, ids=str)
def test_malformed_ids_and_nul_in_the_query_never_give_a_500(endpoint, _users):
    for who in ("superuser", "caseworker"):
        client = Client(raise_request_exception=False)
        client.force_login(_users[who])
        for id_value in HOSTILE_IDS:
            url = _url(endpoint, id_value)
            if url is None:
                continue
            response = client.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
            for value in HOSTILE_QUERY:
                query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
                response = client.get(f"{url}?{query}")
                assert response.status_code < 500, (who, url, value, response.status_code)


@pytest.mark.parametrize("path", ["/cases/persons/%00/", "/api/v1/persons/%00/", "/api/v1/claims/1%00/",
                                  "/%00", "/api/v1/persons/abc/", "/api/v1/claims/99999999999999999999/"])
def test_nul_and_malformed_ids_in_the_path(client, _users, path):
    client.force_login(_users["superuser"])
    response = client.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)


def test_nul_in_a_form_field_is_refused(client, _users):
    client.force_login(_users["caseworker"])
    response = client.post("/cases/persons/new/", {"name": "张\x00三", "id_number": "360702196103121316"})
    assert response.status_code == 400

