"""The what-if calculation, honest about versions: a person's claims (typed as rows, pasted, or
loaded from a real case of the user's regions with the identity number masked) settled with a
chosen version — each claim says which version settled it, and a claim the chosen version does not
cover is reported as such, not passed off as the chosen version's — or with version A and version B
side by side, each claim's difference marked. No JSON or codes on the page."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.roles.scoping import in_scope, scope_queryset
from portal.web import refusals

from . import editor, engine, inputforms, selectors, services
from .demo import example_payload
from .engine import PolicyVersion as EngineVersion
from .engine.constants import ALERT_NAMES, CATEGORY_NAMES, KIND_NAMES
from .messages import render as render_problem
from .models import PolicyVersion, VersionStatus
from .views import policy_staff_required

IN_FORCE = "in_force"
NONE = ""
MONEY_KEYS = ("total", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")


def version_label(v: PolicyVersion) -> str:
    label = f"{v.region.name} · {v.document_number} · {v.get_status_display()} · {v.in_force_from:%Y-%m-%d}"
    if v.in_force_to:
        label += f"～{v.in_force_to:%Y-%m-%d}"
    return f"{label}（#{v.pk}）"


class ChoiceForm(forms.Form):
    region = forms.ChoiceField(label=gettext_lazy("region of the person"))
    version_a = forms.ChoiceField(label=gettext_lazy("version A"), required=False)
    version_b = forms.ChoiceField(label=gettext_lazy("compare with version B"), required=False)
    every_date = forms.BooleanField(
        label=gettext_lazy("apply each chosen version to every claim, whatever its dates"), required=False,
        help_text=gettext_lazy("To compare two versions on the same claims. Otherwise a version settles only the "
                               "claims dated in its period, and the page names the version that settled the others."))
    case_number = forms.CharField(label=gettext_lazy("case number"), required=False, max_length=30)

    def __init__(self, *args, versions=(), regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, f"{r.full_name}（{r.code}）") for r in regions]
        chosen = [(str(v.pk), version_label(v)) for v in versions]
        self.fields["version_a"].choices = [(IN_FORCE, _("the published versions in force on each claim date"))] + chosen
        self.fields["version_b"].choices = [(NONE, _("no comparison")),
                                            (IN_FORCE, _("the published versions in force on each claim date"))] + chosen


@dataclass
class Side:
    """One settlement of the input: with a chosen version (or those in force), its claims' rows."""
    title: str
    version: PolicyVersion | None
    period: tuple | None = None
    every_date: bool = False
    result: dict | None = None
    errors: list[str] = field(default_factory=list)
    rows: dict[str, dict] = field(default_factory=dict)
    outside: int = 0
    alerts: list[str] = field(default_factory=list)


def _covers(period, day: str) -> bool:
    if period is None:
        return False
    try:
        date = datetime.date.fromisoformat(day)
    except (TypeError, ValueError):
        return False
    return period[0] <= date and (period[1] is None or date <= period[1])


def _everywhere_book(version: PolicyVersion, region_code: str, statistics):
    """The policy book with ``version`` the only version of its region, in force on every date."""
    sources = selectors.policy_sources(region_code=region_code, draft_version_id=version.pk)
    doc = version.engine_document()
    doc.update(in_force_from="1900-01-01", in_force_to=None, retroactive_from=None)
    sources.versions = [EngineVersion.from_document(doc)]
    return sources.book(statistics)


def _published_in_force(region_code: str, day: str, document: str | None) -> PolicyVersion | None:
    """The published version of the region (or above) that settled a claim of ``day`` by ``document``."""
    try:
        date = datetime.date.fromisoformat(day)
    except (TypeError, ValueError):
        return None
    from portal.regions.codes import contains

    for v in PolicyVersion.objects.filter(status=VersionStatus.PUBLISHED, framework=False,
                                          document_number=document or "").select_related("region"):
        if (v.region_id == region_code or contains(v.region_id, region_code)) and \
                v.effective_from <= date <= (v.in_force_to or datetime.date.max):
            return v
    return None


def settle_side(payload: dict, version: PolicyVersion | None, *, every_date: bool, title: str) -> Side:
    side = Side(title=title, version=version, every_date=every_date and version is not None)
    try:
        with refusals() as outcome:  # refused by the portal: its problems in the reader's language
            if version is None:
                side.result = services.settle_payload(payload=payload)
            elif side.every_date:
                side.result = engine.settle_payload(payload, lambda region, stats: _everywhere_book(version, region, stats))
            else:
                side.period = selectors.settling_period(version_id=version.pk)
                side.result = services.settle_payload(payload=payload, draft_version_id=version.pk)
    except engine.EngineError as exc:  # refused by the engine itself (every-date settling)
        side.errors = [render_problem(p) for p in exc.problems]
        return side
    if not outcome.ok:
        side.errors = outcome.messages
        return side
    region = side.result["region"]
    names = dict(CATEGORY_NAMES)
    try:
        labels = selectors.route_labels(region_code=region, draft_version_id=version.pk if version else None)
        for v in selectors.policy_sources(region_code=region, draft_version_id=version.pk if version else None).versions:
            names.update(editor.region_category_names(v.doc))
    except engine.PolicyError:
        labels = {}
    if version is not None:
        names.update(editor.region_category_names(version.engine_document()))
        labels.update(selectors.route_labels(region_code=region, draft_version_id=version.pk) if not side.every_date else {})
    dates = {str(c.get("id")): c.get("date", "") for c in payload.get("claims", []) if isinstance(c, dict)}
    for claim in side.result["claims"]:
        day = dates.get(claim["id"], "")
        row = {k: claim.get(k) for k in MONEY_KEYS}
        row.update(id=claim["id"], date=day,
                   category=names.get(claim["category"], _("none")) if claim["category"] else _("none (ordinary resident)"),
                   route=labels.get((claim["policy"], claim["route"], claim["category"]), "") if claim["route"] else "",
                   notes=claim.get("notes") or [])
        if version is not None and (side.every_date or _covers(side.period, day)):
            row["settled_by"] = f"{version.document_number}（{version.get_status_display()}，#{version.pk}）"
            row["chosen"] = True
        else:
            used = _published_in_force(region, day, claim.get("policy"))
            row["settled_by"] = (f"{used.document_number}（{used.get_status_display()}，#{used.pk}）" if used
                                 else claim.get("policy") or "—")
            row["chosen"] = version is None
            if version is not None:
                side.outside += 1
        side.rows[claim["id"]] = row
    side.alerts = [_("%(kind)s after claim %(claim)s (out of pocket %(oop)s, threshold %(threshold)s)") % {
        "kind": ALERT_NAMES.get(a["kind"], a["kind"]), "claim": a["claim"], "oop": a["out_of_pocket"],
        "threshold": a["threshold"]} for a in side.result["alerts"]]
    return side


def _given(value) -> Decimal:
    return Decimal(value) if value not in (None, "") else Decimal("0")


def compare(a: Side, b: Side, payload: dict) -> list[dict]:
    """One row per claim of the input: A's and B's rows and the change B − A of what the person gets
    (assistance + tilted) and pays (out of pocket)."""
    out = []
    for claim in payload.get("claims", []):
        cid = str(claim.get("id"))
        ra, rb = a.rows.get(cid), b.rows.get(cid)
        row = {"id": cid, "date": claim.get("date"), "kind": KIND_NAMES.get(claim.get("kind"), ""), "a": ra, "b": rb}
        if ra and rb:
            row["delta_help"] = (_given(rb["assistance"]) + _given(rb["tilted"])) - (_given(ra["assistance"]) + _given(ra["tilted"]))
            row["delta_oop"] = _given(rb["out_of_pocket"]) - _given(ra["out_of_pocket"])
            row["differs"] = any(ra[k] != rb[k] for k in MONEY_KEYS) or ra["category"] != rb["category"]
        out.append(row)
    return out


def _regions(user, versions):
    """The regions a person of the what-if may live in: those of the user's policy roles (and below)."""
    from portal.regions.models import Region
    from portal.roles.scoping import scoped_regions

    scoped = scoped_regions(user, roles=selectors.ADMIN_ROLES)
    codes = {v.region_id for v in versions}
    if scoped.count() <= 300:  # a national scope would list every county: the versions' regions then
        codes |= set(scoped.values_list("code", flat=True))
    return list(Region.objects.filter(code__in=codes).order_by("code"))


def case_input(user, number: str) -> tuple[dict, dict]:
    """The settlement input of the case ``number`` of the user's regions, its claims numbered 1, 2, …,
    and what to show of it (the identity number masked). Raises ``LookupError`` with a message."""
    from cases import identity_numbers
    from cases.models import Application
    from cases.services.settlement import build_payload

    number = (number or "").strip()
    if not number:
        raise LookupError(_("Type a case number to load."))
    visible = scope_queryset(Application.objects.select_related("person"), user, roles=selectors.ADMIN_ROLES)
    app = visible.filter(number=number).first()
    if app is None:
        raise LookupError(_("No case %(number)s in your regions.") % {"number": number})
    payload, _claims = build_payload(app)
    for i, claim in enumerate(payload.get("claims", []), start=1):
        claim["id"] = str(i)
    shown = {"number": app.number, "year": app.year, "region": app.region_id,
             "person": identity_numbers.mask(app.person.id_number), "claims": len(payload.get("claims", []))}
    return payload, shown


@policy_staff_required
def whatif(request):
    user = request.user
    versions = list(selectors.whatif_versions(user).select_related("region"))
    by_pk = {str(v.pk): v for v in versions}
    regions = _regions(user, versions)
    default_region = next((r.code for r in regions if r.code == request.GET.get("region")), None)
    loaded = None
    errors: list[str] = []
    sides: list[Side] = []
    rows: list[dict] = []
    payload = None
    status = 200
    if request.method != "POST":
        wanted = by_pk.get(request.GET.get("version", ""))
        region = wanted.region_id if wanted else default_region or _default_region(user, regions)
        choice = ChoiceForm(initial={"region": region, "version_a": str(wanted.pk) if wanted else IN_FORCE},
                            versions=versions, regions=regions)
        inputs = inputforms.build(initial=inputforms.initial_from(example_payload(region)),
                                  categories=_categories(wanted))
        return _page(request, choice, inputs, inputforms.PasteForm(), loaded, errors, sides, rows, payload, status)

    choice = ChoiceForm(request.POST, versions=versions, regions=regions)
    choice.is_valid()
    data = choice.cleaned_data if hasattr(choice, "cleaned_data") else {}
    version_a = by_pk.get(data.get("version_a") or "")
    version_b = by_pk.get(data.get("version_b") or "")
    categories = _categories(version_a or version_b)
    paste = inputforms.PasteForm(request.POST)
    if "load_case" in request.POST:
        try:
            case_payload, loaded = case_input(user, request.POST.get("case_number", ""))
        except LookupError as exc:
            choice.add_error("case_number", str(exc))
            inputs = inputforms.build(request.POST, categories=categories)
            return _page(request, choice, inputs, paste, None, errors, sides, rows, payload, 400)
        post = request.POST.copy()
        post["region"] = case_payload["region"]
        if not any(r.code == case_payload["region"] for r in regions):
            from portal.regions.models import Region

            regions = regions + list(Region.objects.filter(code=case_payload["region"]))
        choice = ChoiceForm(post, versions=versions, regions=regions)
        choice.is_valid()
        inputs = inputforms.build(initial=inputforms.initial_from(case_payload), categories=categories)
        return _page(request, choice, inputs, paste, loaded, errors, sides, rows, payload, 200)
    if "paste" in request.POST:
        try:
            pasted = inputforms.parse_pasted(request.POST.get("pasted", ""))
        except ValueError as exc:
            paste.add_error("pasted", str(exc))
            inputs = inputforms.build(request.POST, categories=categories)
            return _page(request, choice, inputs, paste, None, errors, sides, rows, payload, 400)
        inputs = inputforms.build(initial=inputforms.initial_from(pasted), categories=categories)
        return _page(request, choice, inputs, inputforms.PasteForm(), None, errors, sides, rows, payload, 200)
    post = request.POST.copy()
    for prefix in ("claim", "ident", "stat"):
        if f"more_{prefix}" in request.POST:
            key = f"{prefix}-TOTAL_FORMS"
            post[key] = str(int(post.get(key) or 0) + 1) if (post.get(key) or "0").isdigit() else "1"
            inputs = inputforms.build(post, categories=categories)
            return _page(request, choice, inputs, paste, None, errors, sides, rows, payload, 200)
    inputs = inputforms.build(request.POST, categories=categories)
    if not (choice.is_valid() and inputs.is_valid()):
        return _page(request, choice, inputs, paste, None, [_("Not calculated: see the fields marked in red.")],
                     sides, rows, payload, 400)
    region = choice.cleaned_data["region"]
    if not in_scope(user, region, roles=selectors.ADMIN_ROLES) and not any(
            v.region_id == region for v in versions):
        return _page(request, choice, inputs, paste, None,
                     [_("region: %(region)s is outside your regions.") % {"region": region}], sides, rows, payload, 400)
    payload = inputforms.payload_from(inputs, region)
    every = bool(choice.cleaned_data.get("every_date"))
    sides.append(settle_side(payload, version_a, every_date=every, title=_("version A") if data.get("version_b") else _("Result")))
    if data.get("version_b"):
        sides.append(settle_side(payload, version_b, every_date=every, title=_("version B")))
        rows = compare(sides[0], sides[1], payload)
    else:
        rows = compare(sides[0], sides[0], payload)
    if any(s.errors for s in sides):
        status = 400
    return _page(request, choice, inputs, paste, None, errors, sides, rows, payload, status)


def _default_region(user, regions) -> str:
    regions_with_versions = selectors.admin_regions(user).filter(policy_versions__isnull=False).order_by("code")
    chosen = regions_with_versions.first()
    if chosen is not None:
        return chosen.code
    return regions[0].code if regions else "360700"


def _categories(version: PolicyVersion | None):
    return inputforms.category_choices(version.engine_document() if version else None)


def _page(request, choice, inputs, paste, loaded, errors, sides, rows, payload, status):
    return render(request, "policies/whatif.html", {
        "choice": choice, "inputs": inputs, "paste": paste, "loaded": loaded, "errors": errors,
        "sides": sides, "rows": rows, "compared": len(sides) == 2,
    }, status=status)
