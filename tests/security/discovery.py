"""Find every page and API operation of the portal by walking the URL resolver, so that pages added
later are in the matrix without editing the tests.

Each :class:`Endpoint` knows its route, the name to ``reverse`` it with, its URL parameters, whether
it is the API, and the HTTP methods it answers. :func:`param_model` tells which model an object id
in the URL stands for: API viewsets name it themselves (queryset or serializer model); a page's id
is read from the route segment in front of it (``persons/<int:pk>/`` → Person). A parameter the
matrix cannot place fails its tests with a message saying where to teach it — never silently
skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

SKIPPED_NAMESPACES = {"admin"}  # staff-only; see test_admin_is_for_staff_only
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

#: Route segment in front of an id → model label. Anything not here is matched against the model
#: names of the portal's apps (``pushes`` → IdentityPush's "identity pushes", …).
SEGMENT_MODELS = {
    "persons": "cases.Person",
    "households": "cases.Household",
    "identities": "cases.Identity",
    "identity-entries": "cases.IdentityEntry",
    "claims": "cases.Claim",
    "import": "cases.ClaimImport",
    "imports": "cases.ClaimImport",
    "claim-imports": "cases.ClaimImport",
    "cases": "cases.Application",
    "applications": "cases.Application",
    "settlements": "cases.Settlement",
    "adjustments": "cases.Adjustment",
    "batches": "cases.PaymentBatch",
    "payment-batches": "cases.PaymentBatch",
    "lines": "cases.PaymentLine",
    "bank-returns": "cases.BankReturn",
    "pushes": "exchange.IdentityPush",
    "confirmations": "exchange.ConfirmationRequest",
    "warnings": "monitoring.MonitoringWarning",
    "subsidy": "enrolment.SubsidyList",
    "subsidy-lists": "enrolment.SubsidyList",
    "monitoring": "monitoring.MonitoringRun",
    "monitoring-runs": "monitoring.MonitoringRun",
    "deliveries": "exchange.OutboundDelivery",
    "budgets": "reporting.AssistanceBudget",
    "standards": "enrolment.ContributionStandard",
    "versions": "policies.PolicyVersion",
    "policy-versions": "policies.PolicyVersion",
    "statistics": "policies.Statistic",
    "policy-statistics": "policies.Statistic",
    "examples": "policies.PolicyExample",
    "simulations": "policies.PolicySimulation",
    "policy-simulations": "policies.PolicySimulation",
    "policy-imports": "policies.PolicyImport",
}
#: Parameters that are not object ids: name → the values to try.
VALUE_PARAMS = {
    "fmt": ("csv", "xlsx"),
    "file_format": ("csv", "xlsx"),
}
#: The apps of the portal's own models and pages (the exchange's sub-apps among them).
PORTAL_APPS = ("cases", "exchange", "monitoring", "enrolment", "reporting", "policies")


@dataclass(frozen=True)
class Endpoint:
    route: str  # readable: cases/persons/<pk>/
    name: str  # for reverse(): "cases:person", "person-detail"
    params: tuple[str, ...]
    api: bool
    methods: tuple[str, ...]
    pattern: URLPattern

    @property
    def callback(self):
        return self.pattern.callback

    @property
    def has_ids(self) -> bool:
        return any(p not in VALUE_PARAMS and p != "key" for p in self.params)

    @property
    def is_export(self) -> bool:
        # "export" as a word of the route (audit/list-exports/ is the page listing recorded exports, not one)
        return bool({"fmt", "file_format"} & set(self.params)) or re.search(
            r"(export(?!s/)|\.csv|\.xlsx|report\.csv|template)", self.route) is not None

    def __str__(self) -> str:
        return self.route


def _readable(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("\\.", ".")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)
    route = re.sub(r"<\w+:(\w+)>", r"<\1>", route)
    return route


def _methods(pattern: URLPattern, api: bool) -> tuple[str, ...]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: {"get": "list", "post": "create"}
        return tuple(sorted(m.upper() for m in actions))
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return tuple(sorted(m.upper() for m in cls.http_method_names
                            if m not in ("options", "head", "trace") and hasattr(cls, m)))
    return ("GET", "POST")  # a function view: it says what it answers


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            if ns in SKIPPED_NAMESPACES:
                continue
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield prefix + str(p.pattern), name, p


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every named URL pattern except the admin's and DRF's format-suffix duplicates."""
    found = []
    seen = set()
    for raw, name, pattern in _walk(get_resolver().url_patterns):
        params = tuple(pattern.pattern.regex.groupindex)
        if "format" in params:
            continue
        route = _readable(raw)
        if (route, name) in seen:
            continue
        seen.add((route, name))
        api = route.startswith("api/")
        found.append(Endpoint(route=route, name=name, params=params, api=api, methods=_methods(pattern, api),
                              pattern=pattern))
    return tuple(sorted(found, key=lambda e: e.route))


def _model_names():
    out = {}
    for model in apps.get_models():
        if model._meta.app_label not in PORTAL_APPS:
            continue
        words = {model._meta.model_name, f"{model._meta.model_name}s", str(model._meta.verbose_name_plural),
                 str(model._meta.verbose_name_plural).split()[-1]}
        for w in words:
            out.setdefault(w.replace(" ", "-").lower(), model._meta.label)
    return out


def param_model(endpoint: Endpoint, param: str) -> str | None:
    """The model label an id parameter of ``endpoint`` stands for (None: not an object id)."""
    if param in VALUE_PARAMS or param == "key":
        return None
    if param == "code":
        return "regions.Region"
    cls = getattr(endpoint.callback, "cls", None)
    if cls is not None and not hasattr(cls, "get_object"):
        cls = None   # a plain APIView: its serializer says what it answers, not what its URL names
    if endpoint.api and cls is not None and param == getattr(cls, "lookup_url_kwarg", None) or (
            endpoint.api and cls is not None and param == getattr(cls, "lookup_field", "pk")):
        queryset = getattr(cls, "queryset", None)
        if queryset is not None:
            return queryset.model._meta.label
        serializer = getattr(cls, "serializer_class", None)
        meta = getattr(serializer, "Meta", None)
        if meta is not None and getattr(meta, "model", None) is not None:
            return meta.model._meta.label
    segments = [s for s in endpoint.route.split("/") if s]
    for i, segment in enumerate(segments):
        if segment == f"<{param}>" and i > 0:
            before = segments[i - 1]
            if before in SEGMENT_MODELS:
                return SEGMENT_MODELS[before]
            return _model_names().get(before.lower())
    return None


def describe(endpoint: Endpoint, method: str) -> str:
    return f"{method} /{endpoint.route}"
