"""The permission matrix (issue "Proof under load, faults and hostile input", item 3).

Every role (one user per role, in 赣州市 360700; PORTAL_SECURITY_REGIONS=360700,130900 runs it from
沧州市 too) × every page and API operation found by walking the URL resolver × GET and each unsafe
method it answers:

* with the **other region's** ids in the URL: 403/404 (405 for a method not answered; anonymous:
  a redirect to the login page, or 401/403 from the API), none of the other region's names,
  identity numbers, masks or case numbers in the body, and none of its rows changed;
* pages and endpoints **without ids** (lists, searches, exports, forms): plain and with filters and
  searches aimed at the other region — nothing of the other region shown; posting their forms with
  the other region's ids and region codes changes nothing of it;
* **own region**: every page and endpoint answers 200 to at least one role, and the roles a page is
  for get 200 (so the matrix cannot pass by refusing everyone).

The ids name the cell: ``<role>@<region>-<METHOD> /<route>``.
"""
from __future__ import annotations

import pytest

from .discovery import endpoints
from .matrix import (
    PUBLIC,
    PUBLIC_MODELS,
    REFUSED,
    ROLES,
    USER_REGIONS,
    Unplaceable,
    api_payloads,
    cell_id,
    cells,
    client_for,
    param_model,
    query_variants,
    request,
    upload_rewind,
    url_sets,
    web_payloads,
    with_query,
)
from .probe import body_text, changes_in, leaked, snapshot

pytestmark = pytest.mark.django_db

ID_CELLS = cells(with_ids=True, unsafe=False) + cells(with_ids=True, unsafe=True)
LIST_CELLS = cells(with_ids=False, unsafe=False)
LIST_UNSAFE_CELLS = cells(with_ids=False, unsafe=True)


#: Pages that show no data (the API's schema and its viewer): asked plainly, not with every filter.
STATIC = {"schema", "swagger-ui"}


def _refusal_problem(response, role: str, api: bool) -> str | None:
    status = response.status_code
    if role == "anonymous":
        if status in (401, 403, 404, 405):
            return None
        if status == 302 and response["Location"].startswith("/accounts/login/"):
            return None
        return f"anonymous got {status} {response.get('Location', '')}"
    if status in REFUSED:
        return None
    return f"got {status}" + (f" → {response['Location']}" if status in (301, 302, 303) else "")


def _public_ids(endpoint) -> bool:
    return all(param_model(endpoint, p) in PUBLIC_MODELS for p in endpoint.params
               if param_model(endpoint, p) is not None)


@pytest.mark.parametrize("cell", ID_CELLS, ids=[cell_id(c) for c in ID_CELLS])
def test_other_regions_objects_are_refused_and_never_shown_or_changed(world, cell):
    role, region, endpoint, method = cell
    if _public_ids(endpoint):
        pytest.skip("reference data (regions) is public to signed-in users")
    other = world.other(region)
    try:
        urls = url_sets(endpoint, other)
    except Unplaceable as exc:
        pytest.fail(str(exc))
    client = client_for(world, role, region, api=endpoint.api)
    problems = []
    for url, _kwargs in urls:
        if method == "GET":
            bodies = [(None, False)]
        elif endpoint.api:
            bodies = api_payloads(world, region, endpoint, method)
        else:
            bodies = web_payloads(world, region, url, substitute_ids=False)
        after = None
        for data, multipart in bodies:
            # the state after one body is the state before the next (one read of every table, not two)
            before = (after or snapshot()) if method != "GET" else None
            upload_rewind(data)
            response = request(client, method, url, data, api=endpoint.api, multipart=multipart)
            problem = _refusal_problem(response, role, endpoint.api)
            shown = leaked(body_text(response), other.secrets)
            if problem:
                problems.append(f"{method} {url} {data if data else ''}: {problem}")
            if shown:
                problems.append(f"{method} {url}: shows the other region's {shown[:5]}")
            if before is not None:
                after = snapshot()
                changed = changes_in(other.region, before, after)
                if changed:
                    problems.append(f"{method} {url} {data}: changed the other region's rows: {changed}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cell", LIST_CELLS, ids=[cell_id(c) for c in LIST_CELLS])
def test_lists_and_searches_show_nothing_of_the_other_region(world, cell):
    role, region, endpoint, method = cell
    other = world.other(region)
    urls = url_sets(endpoint, other)
    client = client_for(world, role, region, api=endpoint.api)
    problems = []
    variants = query_variants(world, region)
    if endpoint.name in STATIC:
        variants = variants[:1]
    for url, _kwargs in urls:
        for params, echoed in variants:
            response = request(client, "GET", with_query(url, params))
            if response.status_code >= 500:
                problems.append(f"GET {with_query(url, params)}: {response.status_code}")
            if role == "anonymous" and endpoint.name.split(":")[-1] not in PUBLIC and response.status_code == 200:
                problems.append(f"GET {with_query(url, params)}: 200 for an anonymous user")
            shown = leaked(body_text(response), other.secrets, allowed=echoed)
            if shown:
                problems.append(f"GET {with_query(url, params)} ({response.status_code}): shows the other "
                                f"region's {shown[:5]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cell", LIST_UNSAFE_CELLS, ids=[cell_id(c) for c in LIST_UNSAFE_CELLS])
def test_forms_aimed_at_the_other_region_change_nothing_of_it(world, cell):
    role, region, endpoint, method = cell
    other = world.other(region)
    client = client_for(world, role, region, api=endpoint.api)
    problems = []
    for url, _kwargs in url_sets(endpoint, other):
        if endpoint.api:
            bodies = api_payloads(world, region, endpoint, method)
        else:
            bodies = web_payloads(world, region, url, substitute_ids=True)
        after = None
        for data, multipart in bodies:
            before = after or snapshot()  # the state after the last body
            upload_rewind(data)
            response = request(client, method, url, data, api=endpoint.api, multipart=multipart)
            if response.status_code >= 500:
                problems.append(f"{method} {url} {data}: {response.status_code}")
            shown = leaked(body_text(response), other.secrets,
                           allowed={other.persons[0].id_number, other.persons[0].name})
            if shown:
                problems.append(f"{method} {url} ({response.status_code}): shows the other region's {shown[:5]}")
            after = snapshot()
            changed = changes_in(other.region, before, after)
            if changed:
                problems.append(f"{method} {url} {data} ({response.status_code}): changed the other region's "
                                f"rows: {changed}")
    assert not problems, "\n".join(problems)


# --- own region: the pages work for the roles that use them ------------------------------------------

GET_ENDPOINTS = [e for e in endpoints() if "GET" in e.methods]

#: Pages and endpoints the named roles must be able to open with their own region's objects. A
#: route missing here is still checked by ``test_every_page_answers_someone_in_its_own_region``.
EXPECTED = {
    "cases:queue": ["caseworker", "reviewer", "approver", "payment_officer", "auditor"],
    "cases:case": ["caseworker", "reviewer", "approver", "auditor"],
    "cases:persons": ["caseworker", "reviewer", "approver", "auditor", "liaison_civil_affairs"],
    "cases:person": ["caseworker", "reviewer", "approver", "auditor", "liaison_civil_affairs"],
    "cases:batches": ["payment_officer", "approver", "auditor"],
    "cases:batch": ["payment_officer", "approver", "auditor"],
    "cases:payments": ["payment_officer"],
    "policies:versions": ["policy_admin", "auditor"],
    "policies:version": ["policy_admin", "auditor"],
    "policies:statistics": ["policy_admin", "auditor"],
    "exchange:push_list": ["liaison_civil_affairs", "auditor", "policy_admin"],
    "exchange:push_detail": ["liaison_civil_affairs", "auditor"],
    "exchange:confirmation_list": ["liaison_civil_affairs", "reviewer"],
    "exchange:confirmation_detail": ["liaison_civil_affairs", "reviewer"],
    "monitoring:warning_list": ["liaison_civil_affairs", "liaison_rural_revitalisation", "auditor"],
    "monitoring:warning_detail": ["liaison_civil_affairs", "auditor"],
    "enrolment:subsidy_lists": ["liaison_finance", "liaison_tax", "policy_admin", "auditor"],
    "enrolment:subsidy_list": ["liaison_finance", "policy_admin", "auditor"],
    "reporting:dashboard": ["auditor", "policy_admin"],
    "audit:log": ["auditor"],
    "audit:id_views": ["auditor"],
    "audit:bank_changes": ["auditor"],
    "audit:list_exports": ["auditor"],
    "audit:export": ["auditor"],
    "audit:simulations": ["auditor"],
    "person-list": ["caseworker", "reviewer", "auditor", "liaison_civil_affairs"],
    "person-detail": ["caseworker", "reviewer", "auditor"],
    "application-list": ["caseworker", "reviewer", "approver", "auditor"],
    "application-detail": ["caseworker", "reviewer", "approver", "auditor"],
    "claim-list": ["caseworker", "reviewer", "auditor"],
    "claim-detail": ["caseworker", "reviewer", "auditor"],
    "payment-batch-list": ["payment_officer", "auditor"],
    "payment-batch-detail": ["payment_officer", "auditor"],
    "payment-batch-export": ["payment_officer"],
    "policy-version-list": ["policy_admin", "auditor"],
    "policy-version-detail": ["policy_admin", "auditor"],
    "exchange-push-list": ["liaison_civil_affairs"],
    "exchange-push-detail": ["liaison_civil_affairs"],
    "exchange-confirmation-list": ["liaison_civil_affairs", "reviewer"],
    "exchange-warning-list": ["liaison_civil_affairs", "auditor"],
    "exchange-subsidy-list-list": ["liaison_finance", "policy_admin"],
    "exchange-subsidy-list-items": ["liaison_finance", "policy_admin"],
}
EXPECTED_CELLS = [(name, role, region) for name, roles in EXPECTED.items() for role in roles for region in USER_REGIONS]


#: Pages that need a query to show anything (the object they work on).
OWN_QUERY = {
    "exchange:confirmation_new": lambda side: {"application": side.cases["in_review"].pk},
}


def _own_answers(world, endpoint, role, region, *, stop_at_first: bool):
    side = world.side(region)
    client = client_for(world, role, region, api=endpoint.api)
    query = OWN_QUERY[endpoint.name](side) if endpoint.name in OWN_QUERY else None
    answers = []
    for url, _kwargs in url_sets(endpoint, side):
        response = client.get(url, query)
        answers.append((url, response.status_code))
        if stop_at_first and response.status_code == 200:
            break
    return answers


@pytest.mark.parametrize("name, role, region", EXPECTED_CELLS,
                         ids=[f"{role}@{region}-{name}" for name, role, region in EXPECTED_CELLS])
def test_roles_open_the_pages_they_use_in_their_own_region(world, name, role, region):
    endpoint = next((e for e in GET_ENDPOINTS if e.name == name), None)
    if endpoint is None:
        pytest.skip(f"{name} is not in the URLconf (yet)")
    answers = _own_answers(world, endpoint, role, region, stop_at_first=True)
    assert any(status == 200 for _u, status in answers), answers


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=[f"GET /{e.route}" for e in GET_ENDPOINTS])
def test_every_page_answers_someone_in_its_own_region(world, endpoint):
    """Guards the matrix against passing by refusing everyone (and finds ids it cannot place)."""
    tried = []
    for region in USER_REGIONS:
        for role in ROLES:
            answers = _own_answers(world, endpoint, role, region, stop_at_first=True)
            if any(status == 200 for _u, status in answers):
                return
            if endpoint.name in PUBLIC and answers and all(status < 400 for _u, status in answers):
                return  # e.g. the language switch answers a GET with a redirect back
            if answers and all(status == 405 for _u, status in answers):
                return  # a POST-only endpoint (its GET is refused for everyone, as it should be)
            tried.append((role, answers[-1] if answers else None))
    pytest.fail(f"no role opens /{endpoint.route} with its own region's objects: {tried}")


def test_the_matrix_counts():
    n = len(ID_CELLS) + len(LIST_CELLS) + len(LIST_UNSAFE_CELLS)
    print(f"\npermission matrix: {len(ROLES)} roles × {len(USER_REGIONS)} region(s); {len(ID_CELLS)} cells with "
          f"the other region's ids, {len(LIST_CELLS)} list/search cells, {len(LIST_UNSAFE_CELLS)} unsafe list "
          f"cells; {n} in all")
    assert n > 0
