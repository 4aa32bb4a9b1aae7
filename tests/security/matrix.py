"""The machinery of the permission matrix: who asks (actors), what URL (with which ids), with what
body, and what may come back."""
from __future__ import annotations

import functools
import io
import itertools
import os
from urllib.parse import urlencode, urljoin, urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse

from .discovery import UNSAFE, VALUE_PARAMS, Endpoint, endpoints, param_model
from .probe import body_text, form_payloads, post_forms
from .world import ACTORS, CHAR, REGIONS


def _permission_classes() -> list[str]:
    """One actor per class of actors that the permission rules cannot tell apart: the bureau roles
    each, and of the liaisons one per set of department permissions (``portal.permissions``: which of
    the identity, warning and subsidy rules take the department, and whether it owns categories).
    Two liaisons of one class pass the same checks and the same region scoping; only the rows they
    are shown differ, which the tests of the exchange cover. PORTAL_SECURITY_ALL_ROLES=1 keeps every
    actor (a 14-role run takes about a fifth longer)."""
    from portal import permissions
    from portal.roles.domain import categories_owned_by

    if os.environ.get("PORTAL_SECURITY_ALL_ROLES", "").lower() in {"1", "true", "yes"}:
        return list(ACTORS)
    seen, out = set(), []
    for key, (role, department) in ACTORS.items():
        signature = (role,) if role != "liaison" else (
            role, department in permissions.IDENTITY_DEPARTMENTS, department in permissions.WARNING_DEPARTMENTS,
            department in permissions.SUBSIDY_DEPARTMENTS, bool(categories_owned_by(department)))
        if signature not in seen:
            seen.add(signature)
            out.append(key)
    return out


ROLES = [*_permission_classes(), "anonymous"]
#: The users' regions. Set PORTAL_SECURITY_REGIONS=360700,130900 to run the matrix both ways.
USER_REGIONS = [r for r in os.environ.get("PORTAL_SECURITY_REGIONS", "360700").split(",") if r]
#: Public pages anyone may open (no object ids; checked for leaks like every other page).
PUBLIC = {"login", "logout", "set_language", "health", "schema", "swagger-ui", "api-token"}
#: Reference data every signed-in user may read (the region tree).
PUBLIC_MODELS = {"regions.Region"}
REFUSED = {403, 404, 405}


class Unplaceable(AssertionError):
    pass


def value_params(name: str) -> tuple[str, ...] | None:
    if name in VALUE_PARAMS:
        return VALUE_PARAMS[name]
    if name == "key":
        from cases.reporting import dashboards

        return tuple(dashboards.CHARTS)
    return None


def url_sets(endpoint: Endpoint, side) -> list[tuple[str, dict]]:
    """The URLs of ``endpoint`` with ``side``'s objects (every combination), with the ids used."""
    choices = []
    for param in endpoint.params:
        values = value_params(param)
        if values is not None:
            choices.append([(param, v) for v in values])
            continue
        label = param_model(endpoint, param)
        if label is None:
            raise Unplaceable(f"/{endpoint.route}: which model is <{param}>? Teach tests/security/discovery.py "
                              "(SEGMENT_MODELS or VALUE_PARAMS).")
        if label == "regions.Region":
            choices.append([(param, side.region)])
            continue
        ids = side.samples(label)
        if not ids:
            raise Unplaceable(f"/{endpoint.route}: the world has no {label} in {side.region}; add one to "
                              "tests/security/world.py.")
        choices.append([(param, pk) for pk in ids])
    out = []
    for combo in itertools.product(*choices):
        kwargs = dict(combo)
        try:
            out.append((reverse(endpoint.name, kwargs=kwargs), kwargs))
        except NoReverseMatch:
            continue
    return out


def client_for(world, role: str, region: str, *, api: bool) -> Client:
    if role == "anonymous":
        return Client()
    side = world.side(region)
    if api:
        return Client(HTTP_AUTHORIZATION=f"Token {side.tokens[role]}")
    client = Client()
    client.force_login(side.actors[role])
    return client


def request(client: Client, method: str, url: str, data=None, *, api: bool = False, multipart: bool = False):
    if method == "GET":
        return client.get(url, data or None)
    if multipart or (not api and method == "POST"):
        return client.post(url, data or {}) if method == "POST" else client.generic(method, url)
    import json

    return client.generic(method, url, json.dumps(data or {}), content_type="application/json")


# --- bodies of unsafe requests -----------------------------------------------------------------------


def substitute_for(world, region: str):
    """Point a form field or JSON property at the other region's objects."""
    other = world.other(region)

    def first(label):
        ids = other.ids.get(label) or [0]
        return ids[0]

    by_name = {
        "person": "cases.Person", "person_id": "cases.Person", "application": "cases.Application",
        "application_id": "cases.Application", "claim": "cases.Claim", "claim_id": "cases.Claim",
        "batch": "cases.PaymentBatch", "batch_id": "cases.PaymentBatch", "line_id": "cases.PaymentLine",
        "household": "cases.Household", "household_id": "cases.Household", "identity": "cases.Identity",
        "identity_id": "cases.Identity", "adjustment": "cases.Adjustment", "adjustment_id": "cases.Adjustment",
        "version": "policies.PolicyVersion", "from_version": "policies.PolicyVersion",
        "draft_version_id": "policies.PolicyVersion", "warning": "monitoring.MonitoringWarning",
    }
    many = {"claim_ids": "cases.Claim", "claims": "cases.Claim", "application_ids": "cases.Application",
            "adjustment_ids": "cases.Adjustment", "person_ids": "cases.Person"}

    def substitute(name: str, value):
        key = name.rsplit("-", 1)[-1]
        if key in ("region", "region_code", "region_id", "county"):
            return REGIONS[other.region] if isinstance(value, str) else value
        if key in by_name:
            return str(first(by_name[key])) if isinstance(value, str) else first(by_name[key])
        if key in many:
            ids = (other.ids.get(many[key]) or [0])[:3]
            return [str(i) for i in ids] if isinstance(value, str) or (
                isinstance(value, list) and value and isinstance(value[0], str)) else ids
        if key in ("id_number", "certno"):
            return other.persons[0].id_number
        return value

    return substitute


def _form_key(form) -> tuple:
    return (tuple(n for n, _v, _k in form["fields"]), tuple(form["submits"]))


def harvested_forms(world, url: str) -> list[dict]:
    """The POST forms (as a superuser sees them) whose action is ``url``: read from ``url`` itself
    and from every page showing the same object."""
    cache = world.__dict__.setdefault("_forms", {})
    path = urlsplit(url).path
    if path in cache:
        return cache[path]
    su = Client()
    su.force_login(world.superuser)
    pages = {path}
    try:
        match = resolve(path)
    except Exception:  # noqa: BLE001
        match = None
    if match is not None and match.kwargs:
        for e in endpoints():
            if e.api or "GET" not in e.methods or set(e.params) != set(match.kwargs):
                continue
            try:
                pages.add(reverse(e.name, kwargs=match.kwargs))
            except NoReverseMatch:
                continue
    for page in sorted(pages):
        response = su.get(page)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in post_forms(body_text(response)):
            target = urlsplit(urljoin(page, form["action"] or page)).path
            known = cache.setdefault(target, [])
            key = _form_key(form)  # one form of each shape (a nav form is on every page)
            if all(_form_key(f) != key for f in known):
                known.append(form)
    cache.setdefault(path, [])
    return cache[path]


GENERIC_FORM = {"action": "approve", "reason": "安全测试", "comment": "安全测试", "note": "安全测试",
                "outcome": "assisted", "confirm": "1", "reject": "1"}


def hostile_upload(world, region: str) -> SimpleUploadedFile:
    """A CSV aimed at the other region: an identity push row (exit the person's identity) and a
    settlement record for the person, in one file (each reader takes its own columns)."""
    other = world.other(region)
    person = other.persons[0]
    csv = (f"身份证号码,姓名,类别,操作,生效日期,文号,行政区划,setl_id,certno,med_type,setl_time,medfee_sumamt,"
           f"inscp_scp_amt\n{person.id_number},{person.name},低保对象,退出,2023-06-01,{CHAR[other.region]}文,"
           f"{REGIONS[other.region]},X{person.pk},{person.id_number},21,2023-06-01,100,90\n")
    return SimpleUploadedFile("list.csv", csv.encode("utf-8"), content_type="text/csv")


def web_payloads(world, region: str, url: str, *, substitute_ids: bool) -> list[tuple[dict, bool]]:
    forms = harvested_forms(world, url)
    subst = substitute_for(world, region) if substitute_ids else None
    payloads = []
    for form in forms:
        files = [name for name, _v, kind in form["fields"] if kind == "file"]
        for payload in form_payloads(form, subst):
            payload.update({name: hostile_upload(world, region) for name in files})
            payloads.append((payload, form["multipart"]))
    return payloads or [(dict(GENERIC_FORM), False)]


# --- API bodies from the OpenAPI schema ----------------------------------------------------------------


@functools.cache
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operation(endpoint: Endpoint, method: str) -> dict | None:
    import re

    kwargs = {p: "9" for p in endpoint.params}
    try:
        url = reverse(endpoint.name, kwargs=kwargs)
    except NoReverseMatch:
        return None
    for path, item in openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), url):
            return item.get(method.lower())
    return None


#: Optional properties left out of generated bodies: a guard that would stop the request before the
#: part worth testing (an expected state that does not match).
OMITTED = {"expected_state"}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = openapi()["components"]["schemas"][name]
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part))
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _resolve(schema[key][0])
    return schema


def example(schema: dict, name: str = "", subst=None, depth: int = 0):
    schema = _resolve(schema)
    if depth > 6:
        return None
    if "enum" in schema:
        values = [v for v in schema["enum"] if v not in (None, "")]
        value = values[0] if values else ""
    else:
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            value = {k: example(v, k, subst, depth + 1) for k, v in (schema.get("properties") or {}).items()
                     if not _resolve(v).get("readOnly") and k not in OMITTED}
        elif kind == "array":
            value = [example(schema.get("items") or {}, name, subst, depth + 1)]
        elif kind == "integer":
            value = 2023 if "year" in name else (6 if "month" in name else 1)
        elif kind == "number":
            value = 100.0
        elif kind == "boolean":
            value = True
        else:
            fmt = schema.get("format", "")
            value = {"date": "2023-06-01", "date-time": "2023-06-01T10:00:00+08:00", "decimal": "100.00",
                     "binary": b"", "uri": "https://example.org/"}.get(fmt, "安全测试")
            if "pattern" in schema and "\\d" in schema["pattern"]:
                value = "100.00"
    if subst is not None and name:
        replaced = subst(name, value if not isinstance(value, list) else [value[0]] if value else value)
        if name in ("claim_ids", "application_ids", "adjustment_ids", "person_ids") and not isinstance(replaced, list):
            replaced = [replaced]
        value = replaced
    return value


def api_payloads(world, region: str, endpoint: Endpoint, method: str) -> list[tuple[dict, bool]]:
    """Bodies for an unsafe API call: the request schema filled in, ids and regions pointing at the
    other region; one body per value of an ``action`` enum (every workflow action)."""
    op = operation(endpoint, method) or {}
    content = (op.get("requestBody") or {}).get("content") or {}
    subst = substitute_for(world, region)
    if "multipart/form-data" in content and "application/json" not in content:
        schema = _resolve(content["multipart/form-data"]["schema"])
        body = {k: example(v, k, subst) for k, v in (schema.get("properties") or {}).items()
                if _resolve(v).get("format") != "binary"}
        for k, v in (schema.get("properties") or {}).items():
            if _resolve(v).get("format") == "binary":
                body[k] = hostile_upload(world, region)
        body = {k: v for k, v in body.items() if v is not None}
        return [(body, True)]
    if "application/json" not in content:
        return [({}, False)]
    schema = _resolve(content["application/json"]["schema"])
    base = example(schema, "", subst)
    action_schema = _resolve((schema.get("properties") or {}).get("action") or {})
    if isinstance(base, dict) and "enum" in action_schema:
        return [({**base, "action": a}, False) for a in action_schema["enum"] if a]
    return [(base if isinstance(base, dict) else {}, False)]


def upload_rewind(data):
    for v in (data or {}).values():
        if isinstance(v, (SimpleUploadedFile, io.IOBase)):
            v.seek(0)


def query_variants(world, region: str) -> list[tuple[dict, set]]:
    """Query strings aimed at the other region (filters, searches), with the strings each one
    echoes back legitimately (the search box shows what was typed)."""
    other = world.other(region)
    person = other.persons[1]
    app = other.cases["approved"]
    ids = {"person": person.pk, "application": app.pk, "region": REGIONS[other.region], "year": 2023,
           "batch": (other.ids.get("cases.PaymentBatch") or [0])[0]}
    from cases.identity_numbers import mask

    return [
        ({}, set()),
        ({**ids, "q": person.name}, {person.name}),
        ({"q": app.number, "state": "approved"}, {app.number}),
        ({"q": person.id_number, "id_number": person.id_number}, {person.id_number, mask(person.id_number)}),
    ]


def with_query(url: str, params: dict) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def cells(*, with_ids: bool, unsafe: bool):
    out = []
    for endpoint in endpoints():
        if endpoint.has_ids != with_ids:
            continue
        methods = [m for m in endpoint.methods if (m in UNSAFE) == unsafe]
        for method in methods:
            for region in USER_REGIONS:
                for role in ROLES:
                    out.append((role, region, endpoint, method))
    return out


def cell_id(cell) -> str:
    role, region, endpoint, method = cell
    return f"{role}@{region}-{method} /{endpoint.route}"
