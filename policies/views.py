"""The policy pages: versions and their parameters, statistics, and the what-if calculation.

For policy admins (who change their regions' drafts and statistics) and auditors (who read).
Views stay thin: selectors read, services write, and every list goes through region scoping.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST

from portal import uploads
from portal.permissions import permission_required
from portal.regions.models import Region
from portal.web import refusals

from . import display, editor, publishing, selectors, services
from .forms import NewVersionForm, PolicyFileForm, PublishForm, StatisticForm, VersionDetailsForm
from .messages import render as render_problem
from .models import PolicyVersion, VersionStatus

#: Signed in, and a policy admin or auditor somewhere (or a superuser): ``policies.view_policies``.
policy_staff_required = permission_required(
    "policies.view_policies", gettext_lazy("Policy pages are for policy administrators and auditors."))


def _version(request, pk) -> PolicyVersion:
    return get_object_or_404(selectors.visible_versions(request.user), pk=pk)


# ---------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------


@policy_staff_required
def version_list(request, **kwargs):
    region = request.GET.get("region") or None
    status = request.GET.get("status") or None
    versions = list(selectors.versions_for_admin(request.user, region_code=region, status=status))
    today = timezone.localdate()
    for v in versions:
        v.in_force_today = v.status == VersionStatus.PUBLISHED and v.effective_from <= today <= (v.in_force_to or datetime.date.max)
        v.editable = selectors.can_edit(request.user, v)
    regions = Region.objects.filter(
        code__in=selectors.visible_versions(request.user).values_list("region_id", flat=True)
    ).order_by("code")
    import_regions = list(selectors.editable_regions(request.user).order_by("code"))
    return render(request, "policies/version_list.html", {
        "versions": versions,
        "new_form": kwargs.get("new_form") or (
            NewVersionForm(regions=import_regions, frameworks=_framework_choices(request.user, import_regions),
                           initial={"in_force_from": datetime.date(timezone.localdate().year, 1, 1)})
            if import_regions else None),
        "import_form": kwargs.get("import_form") or (PolicyFileForm(regions=import_regions) if import_regions else None),
        "import_errors": kwargs.get("import_errors") or [],
        "regions": regions,
        "statuses": VersionStatus.choices,
        "selected_region": region or "",
        "selected_status": status or "",
        "today": today,
    })


@dataclass
class ParamRow:
    row: selectors.ParameterRow
    input: str
    widget: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changed: bool = False

    def __getattr__(self, name: str) -> Any:
        if name == "row":
            raise AttributeError(name)
        return getattr(self.row, name)


def _param_rows(version: PolicyVersion, *, submitted: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None) -> list[ParamRow]:
    rows = []
    for row in selectors.version_parameters(version):
        text = (submitted or {}).get(row.path, display.as_input(row.value, row.kind))
        item = ParamRow(row=row, input=text, errors=(errors or {}).get(row.path, []))
        if row.kind == "bool":
            item.widget = "select"
            item.options = [("", _("unset")), ("true", _("yes")), ("false", _("no"))]
        elif row.kind == "enum":
            item.widget = "select"
            item.options = [("", _("unset"))] + [(c, display.ENUM_NAMES.get(c, c)) for c in display.choices_of(row.path)]
        rows.append(item)
    return rows


def _sections(rows: list[ParamRow]) -> list[tuple[str, list[ParamRow]]]:
    out: list[tuple[str, list[ParamRow]]] = []
    for row in rows:
        if not out or out[-1][0] != row.section:
            out.append((row.section, []))
        out[-1][1].append(row)
    return out


def version_examples(version: PolicyVersion) -> list[dict]:
    from .views_examples import version_examples as listed

    return listed(version)


def _recalculation(version: PolicyVersion, form) -> dict:
    """What publishing recalculates: with the dates of the submitted form when they are valid, else
    with the draft's planned dates."""
    planned = True
    start, retro = version.in_force_from, version.retroactive_from
    if form is not None and form.is_bound and form.is_valid() and form.cleaned_data.get("in_force_from"):
        planned = False
        start, retro = form.cleaned_data["in_force_from"], form.cleaned_data.get("retroactive_from")
    since = publishing.recalculation_since(in_force_from=start, retroactive_from=retro)
    return {"planned": planned, "since": since, "in_force_from": start, "retroactive_from": retro,
            "person_years": publishing.person_years_from(region_code=version.region_id, since=since),
            "claims": publishing.claims_from(region_code=version.region_id, since=since)}


def _render_version(request, version: PolicyVersion, *, param_errors=None, submitted=None, details_form=None,
                    publish_form=None, publish_errors=None, status=200):
    user = request.user
    editable = version.status == VersionStatus.DRAFT and selectors.can_edit(user, version)
    start_regions = (
        selectors.regions_for_new_version(user, version)
        if version.status in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED) else []
    )
    rows = _param_rows(version, submitted=submitted, errors=param_errors)
    if editable and details_form is None:
        details_form = VersionDetailsForm(initial={
            "document_number": version.document_number, "title": version.title,
            "in_force_from": version.in_force_from, "in_force_to": version.in_force_to,
            "retroactive_from": version.retroactive_from,
        })
    simulation = publishing.latest_simulation(version) if editable else None
    if editable and publish_form is None:
        publish_form = PublishForm(initial={"simulation": getattr(simulation, "pk", None)})
    recalc = _recalculation(version, publish_form) if editable else None
    nodes, problems = _editor_context(version, errors=param_errors if isinstance(param_errors, dict) else None)
    total, unset = editor.count_leaves(nodes)
    history = list(selectors.version_history(version))
    for change in history:
        change.old_shown = display.show_change_value(change.old_value, change.path)
        change.new_shown = (
            _("in force %(from)s to %(to)s") % {
                "from": change.new_value.get("in_force_from"), "to": change.new_value.get("in_force_to") or pgettext("end of a period", "open")}
            + (_(", retroactive from %(date)s") % {"date": change.new_value["retroactive_from"]}
               if change.new_value.get("retroactive_from") else "")
            if isinstance(change.new_value, dict) and "in_force_from" in change.new_value
            else display.show_change_value(change.new_value, change.path)
        )
        change.has_values = change.action in ("parameter", "details", "closed", "statistic_changed", "example_changed")
        if change.action == "published" and isinstance(change.new_value, dict):
            if change.new_value.get("person_years") is not None:
                change.new_shown += _("; %(n)s person-years to recalculate") % {"n": change.new_value["person_years"]}
            if change.new_value.get("simulation"):
                change.new_shown += _("; simulation #%(id)s shown") % {"id": change.new_value["simulation"]}
            elif "simulation" in change.new_value:
                change.new_shown += _("; no simulation shown")
    return render(request, "policies/version_detail.html", {
        "version": version,
        "editable": editable,
        "start_regions": start_regions,
        "sections": _sections(rows),
        "param_count": len(rows),
        "unset_count": sum(1 for r in rows if r.unset),
        "param_errors": param_errors or {},
        "details_form": details_form,
        "publish_form": publish_form,
        "publish_errors": publish_errors or [],
        "recalc": recalc,
        "simulation": simulation,
        "simulation_template": publishing.SIMULATION_TEMPLATE if editable and publishing.simulation_template_exists() else "",
        "frameworks": selectors.frameworks_for(version),
        "history": history,
        "nodes": nodes,
        "problems": problems if version.status == VersionStatus.DRAFT else [],
        "param_total": total,
        "param_unset": unset,
        "own_text": bool(selectors.document_text(version)),
        "has_text": bool(selectors.document_text(version)) or version.based_on_id is not None and any(n.clause_text for n in _walk_nodes(nodes)),
        "derived": version.derived.filter(pk__in=selectors.visible_versions(user)).order_by("-id"),
        "examples": version_examples(version),
    }, status=status)


_PATH_TOKEN = __import__("re").compile(r"\b[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)+")


def words_only(message: str) -> str:
    """A message for the editor, which names the parameter beside it: its path (a code) left out."""
    import re

    text = _PATH_TOKEN.sub("", message)
    text = re.sub(r"[（(]\s*[，,]?\s*[）)]", "", text)
    text = re.sub(r"([（(])\s*[，,]\s*", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _editor_context(version: PolicyVersion, *, errors=None):
    doc = version.engine_document()
    errors = {path: [words_only(e) for e in found] for path, found in (errors or {}).items()}
    nodes = editor.tree(doc, texts=selectors.clause_texts(version), errors=errors,
                        figures=selectors.announced_names(version.region_id))
    problems = ([render_problem(p) for p in selectors.draft_problems(version)]
                if version.status == VersionStatus.DRAFT else [])
    return nodes, problems


def _walk_nodes(nodes):
    stack = list(nodes)
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children)


def _find_node(nodes, path):
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if n.path == path:
            return n
        stack.extend(n.children)
    return None


def _editable_draft(request, pk) -> PolicyVersion:
    version = _version(request, pk)
    if not selectors.can_edit(request.user, version):
        raise PermissionDenied(_("Only the region's policy administrators change its drafts."))
    return version


def _set_deductible_basis(request, version: PolicyVersion, path: str, basis: str | None) -> PolicyVersion:
    """A route's deductible is counted over the year or per claim (chosen with the deductible): the
    route's ``deductible_basis``, added when it is first needed, with the deductible's clause."""
    if basis not in ("annual", "per_claim"):
        raise services.ChangeRefused([_("choose how the deductible is counted")], field=path)
    sibling = path.rsplit(".", 1)[0] + ".deductible_basis"
    doc = version.engine_document()
    try:
        current = services.engine.get_parameter(doc, sibling)
    except KeyError:
        if basis == "annual":   # absent means annual
            return version
        version = services.add_optional_parameter(acting_user=request.user, version=version, path=sibling)
        current = None
    if current != basis:
        version = services.set_parameter(acting_user=request.user, version=version, path=sibling, value=basis)
        clause = request.POST.get("clause")
        if clause:
            version = services.set_clause(acting_user=request.user, version=version, path=sibling, clause=clause)
    return version


@policy_staff_required
@require_POST
def version_leaf(request, pk):
    """One parameter of a draft: its value (from its inputs, in words) and its clause. With htmx
    the parameter is answered alone, with the draft's problems; otherwise the page."""
    version = _editable_draft(request, pk)
    path = request.POST.get("path", "")
    errors: list[str] = []
    saved = False
    if version.status != VersionStatus.DRAFT:
        errors = [_("Only drafts can be changed; start a new version from this one.")]
    else:
        doc = version.engine_document()
        try:
            current = services.engine.get_parameter(doc, path)
        except KeyError:
            current = None
            if editor.spec_at(path) is None:
                errors = [_("%(path)s: there is no such parameter") % {"path": path}]
        if not errors:
            try:
                value = editor.read_value(path, doc, request.POST)
            except ValueError as exc:
                spec = editor.spec_at(path)
                errors = [f"{spec.zh}：{exc}" if spec is not None and hasattr(spec, "zh") else str(exc)]
            else:
                with refusals() as outcome:
                    if "clause" in request.POST:
                        version = services.set_clause(acting_user=request.user, version=version, path=path,
                                                      clause=request.POST.get("clause"))
                    if not display.same(value, current):
                        version = services.set_parameter(acting_user=request.user, version=version, path=path, value=value)
                    if editor.is_route_deductible(path) and value not in (None, display.NONE) and "basis" in request.POST:
                        version = _set_deductible_basis(request, version, path, request.POST.get("basis"))
                    saved = True
                errors = outcome.messages
    version.refresh_from_db()
    if request.headers.get("HX-Request"):
        nodes, problems = _editor_context(version, errors={path: errors})
        node = _find_node(nodes, path)
        if node is None:
            return HttpResponse(status=204)
        if errors:
            node.widget = editor.keep_typed(node.widget, request.POST)
        total, unset = editor.count_leaves(nodes)
        return render(request, "policies/_leaf.html", {
            "node": node, "version": version, "editable": True, "saved": saved and not errors,
            "oob_problems": True, "problems": problems, "param_total": total, "param_unset": unset,
        }, status=200)
    if errors:
        flash.error(request, _("Not saved: see the parameter marked in red."))
        return _render_version(request, version, param_errors={path: errors}, status=400)
    flash.success(request, _("Saved."))
    node_id = editor.dom_id(path)
    return redirect(reverse("policies:version", args=[version.pk]) + f"#{node_id}")


@policy_staff_required
@require_POST
def version_structure(request, pk):
    """Add or remove a list entry (a route, a rule, a subsidy…) or an optional parameter, or rename an entry."""
    version = _editable_draft(request, pk)
    op, path = request.POST.get("op", ""), request.POST.get("path", "")
    anchor = ""
    with refusals(request=request):
        if op == "add_item":
            new_path = services.add_list_item(acting_user=request.user, version=version, path=path)
            anchor = new_path
            flash.success(request, _("Entry added: fill in its parameters."))
        elif op == "remove_item":
            services.remove_list_item(acting_user=request.user, version=version, path=path)
            anchor = path.rsplit("[", 1)[0]
            flash.success(request, _("Entry removed."))
        elif op == "item_text":
            for key in ("name", "label"):
                if key in request.POST:
                    services.set_item_text(acting_user=request.user, version=version, path=path, key=key,
                                           text=request.POST[key])
            anchor = path
            flash.success(request, _("Saved."))
        elif op == "add_group":
            services.add_part(acting_user=request.user, version=version, path=path)
            anchor = path
            flash.success(request, _("Part added: fill in its parameters."))
        elif op == "remove_group":
            services.remove_part(acting_user=request.user, version=version, path=path)
            flash.success(request, _("Part removed."))
        elif op == "add_param":
            services.add_optional_parameter(acting_user=request.user, version=version, path=path)
            anchor = path
            flash.success(request, _("Parameter added."))
        elif op == "remove_param":
            services.remove_optional_parameter(acting_user=request.user, version=version, path=path)
            anchor = path.rsplit(".", 1)[0]
            flash.success(request, _("Parameter removed."))
        else:
            flash.error(request, _("Unknown change."))
    node_id = editor.dom_id(anchor) if anchor else "parameters"
    return redirect(reverse("policies:version", args=[version.pk]) + f"#{node_id}")


@policy_staff_required
@require_POST
def version_new(request):
    """A region's first draft: blank or from its province's framework."""
    regions = list(selectors.editable_regions(request.user).order_by("code"))
    if not regions:
        raise PermissionDenied(_("Only policy administrators start policy versions."))
    form = NewVersionForm(request.POST, regions=regions, frameworks=_framework_choices(request.user, regions))
    if form.is_valid():
        data = form.cleaned_data
        region = next(r for r in regions if r.code == data["region"])
        framework = None
        if data["start"] != "blank":
            framework = PolicyVersion.objects.filter(pk=int(data["start"]), framework=True).first()
        with refusals(form) as outcome:
            draft = services.start_new_version(
                acting_user=request.user, region=region, document_number=data["document_number"], title=data["title"],
                in_force_from=data["in_force_from"], from_framework=framework)
        if outcome.ok:
            flash.success(request, _("Draft started. Enter its parameters with their clauses, then publish it."))
            return redirect("policies:version", pk=draft.pk)
    response = version_list(request, new_form=form)
    response.status_code = 400
    return response


def _framework_choices(user, regions) -> list[PolicyVersion]:
    seen: dict[int, PolicyVersion] = {}
    for region in regions:
        for fw in selectors.framework_choices(user, region):
            seen.setdefault(fw.pk, fw)
    return list(seen.values())


@policy_staff_required
def version_file(request, pk):
    """The version as a policy file (docs/policy-file.md), downloaded."""
    version = _version(request, pk)
    response = HttpResponse(services.policy_file_text(version), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{services.policy_file_name(version)}"'
    return response


@policy_staff_required
@require_POST
def version_import(request):
    """Upload a policy file: validated whole, then a new draft (never published)."""
    regions = list(selectors.editable_regions(request.user).order_by("code"))
    if not regions:
        raise PermissionDenied(_("Only policy administrators import policy files."))
    form = PolicyFileForm(request.POST, request.FILES, regions=regions)
    errors: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        with refusals() as outcome:
            record = services.receive_policy_file(acting_user=request.user, region=form.cleaned_data["region"] or None,
                                                  fileobj=upload, filename=upload.name)
        errors = outcome.messages
        if outcome.ok:
            return redirect("policies:import", pk=record.pk)
    response = version_list(request, import_form=form, import_errors=errors)
    response.status_code = 400
    return response


def _policy_import(request, pk):
    record = selectors.policy_imports_for(request.user).filter(pk=pk).first()
    if record is None:
        raise Http404(_("Import not found."))
    return record


@policy_staff_required
def policy_import(request, pk):
    """An uploaded policy file: waiting or being read (the page follows the worker), then its draft,
    or every problem that kept it from being imported (100 a page, downloadable)."""
    record = _policy_import(request, pk)
    page = uploads.error_page(request, record.problems.order_by("position"))
    return render(request, "policies/import_detail.html", {"record": record, "page": page})


@policy_staff_required
def policy_import_problems(request, pk, fmt):
    """Every problem of a refused policy file, streamed as CSV or .xlsx."""
    record = _policy_import(request, pk)
    return uploads.error_download(
        fmt, f"policy_import_{record.pk}_problems", [_("no."), _("problem")], record.problems.order_by("position"),
        lambda p: [p.position, p.message], title=_("Problems of the policy file"))


@policy_staff_required
def version_detail(request, pk):
    return _render_version(request, _version(request, pk))


@policy_staff_required
@require_POST
def version_start(request, pk):
    source = _version(request, pk)
    regions = selectors.regions_for_new_version(request.user, source)
    if not regions:
        raise PermissionDenied(_("You cannot start a version from this one."))
    wanted = request.POST.get("region") or regions[0].code
    region = next((r for r in regions if r.code == wanted), None)
    if region is None:
        raise PermissionDenied(_("You cannot start a version in that region."))
    with refusals(request=request) as outcome:
        draft = services.start_version(acting_user=request.user, from_version=source, region=region)
    if not outcome.ok:
        return redirect("policies:version", pk=source.pk)
    flash.success(request, _("Draft started from %(document)s. Change its parameters, then publish it.")
                  % {"document": source.document_number})
    return redirect("policies:version", pk=draft.pk)


@policy_staff_required
def version_parameters(request, pk):
    version = _version(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not selectors.can_edit(request.user, version):
        raise PermissionDenied(_("Only the region's policy administrators change its drafts."))
    if version.status != VersionStatus.DRAFT:
        flash.error(request, _("Only drafts can be changed; start a new version from this one."))
        return redirect("policies:version", pk=version.pk)
    submitted: dict[str, str] = {}
    parse_errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for row in selectors.version_parameters(version):
        key = f"p:{row.path}"
        if key not in request.POST:
            continue
        text = request.POST[key]
        submitted[row.path] = text
        try:
            value = display.parse(text, row.kind, display.choices_of(row.path))
        except ValueError as exc:
            parse_errors[row.path] = [f"{row.label}（{row.path}）：{exc}"]
            continue
        if not display.same(value, row.value):
            changes[row.path] = value
    refused = services.set_parameters(acting_user=request.user, version=version, values=changes)
    errors = {**parse_errors, **refused}
    saved = len(changes) - len(refused)
    if errors:
        if saved:
            flash.success(request, _("%(n)s change(s) saved.") % {"n": saved})
        flash.error(request, _("%(n)s change(s) not saved: see the parameters marked in red; what you typed is kept.")
                    % {"n": len(errors)})
        version.refresh_from_db()
        kept = {path: text for path, text in submitted.items() if path in errors}
        return _render_version(request, version, param_errors=errors, submitted=kept, status=400)
    if saved:
        flash.success(request, _("%(n)s change(s) saved.") % {"n": saved})
    else:
        flash.info(request, _("Nothing was changed."))
    return redirect(reverse("policies:version", args=[version.pk]) + "#parameters")


@policy_staff_required
@require_POST
def version_details(request, pk):
    version = _version(request, pk)
    if not selectors.can_edit(request.user, version):
        raise PermissionDenied
    form = VersionDetailsForm(request.POST)
    if form.is_valid():
        with refusals(form) as outcome:
            services.update_version_meta(acting_user=request.user, version=version, **form.cleaned_data)
        if outcome.ok:
            flash.success(request, _("Details saved."))
            return redirect("policies:version", pk=version.pk)
    version.refresh_from_db()
    return _render_version(request, version, details_form=form, status=400)


@policy_staff_required
@require_POST
def version_publish(request, pk):
    version = _version(request, pk)
    if not selectors.can_edit(request.user, version):
        raise PermissionDenied
    form = PublishForm(request.POST)
    publish_errors: list[str] = []
    if form.is_valid() and "preview" in request.POST:
        # The dates checked: the form shows what they would recalculate; nothing is published.
        version.refresh_from_db()
        return _render_version(request, version, publish_form=form)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["simulation_id"] = data.pop("simulation", None)
        with refusals() as outcome:
            services.publish_version(acting_user=request.user, version=version, **data)
        if not outcome.ok:
            field = getattr(outcome.error, "field", None)
            if field in form.fields and field != "simulation":  # a hidden field: said above the form
                for error in outcome.messages:
                    form.add_error(field, error)
            else:
                publish_errors = [words_only(e) for e in outcome.messages]
        else:
            flash.success(request, _("%(document)s is published.") % {"document": version.document_number})
            return redirect("policies:version", pk=version.pk)
    version.refresh_from_db()
    return _render_version(request, version, publish_form=form, publish_errors=publish_errors, status=400)


@policy_staff_required
@require_POST
def version_text(request, pk):
    """The full text of a draft's document, pasted: each clause is then shown with its words."""
    version = _editable_draft(request, pk)
    with refusals(request=request) as outcome:
        services.set_document_text(acting_user=request.user, version=version, text=request.POST.get("text", ""),
                                   source=request.POST.get("source", ""))
    if outcome.ok:
        flash.success(request, _("The document's full text is on file: each clause is shown with its words."))
    return redirect(reverse("policies:version", args=[version.pk]) + "#parameters")


@policy_staff_required
@require_POST
def version_withdraw(request, pk):
    version = _version(request, pk)
    if not selectors.can_edit(request.user, version):
        raise PermissionDenied
    with refusals(request=request) as outcome:
        services.withdraw_draft(acting_user=request.user, version=version)
    if outcome.ok:
        flash.success(request, _("The draft was withdrawn."))
    return redirect("policies:version", pk=version.pk)


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


@policy_staff_required
def statistics(request):
    user = request.user
    editable_regions = list(selectors.editable_regions(user).order_by("code"))
    form = None
    if request.method == "POST" and request.POST.get("figure"):
        if not editable_regions:
            raise PermissionDenied(_("Only policy administrators enter statistics."))
        region = next((r for r in editable_regions if r.code == request.POST.get("region")), None)
        if region is None:
            raise PermissionDenied(_("Only policy administrators enter statistics."))
        year_text = request.POST.get("year", "")
        back = reverse("policies:statistics") + f"?region={region.code}&year={request.POST.get('for_year', '')}#figures"
        with refusals(request=request) as outcome:
            stat = services.set_statistic(acting_user=user, region=region, kind=request.POST.get("figure", ""),
                                          year=int(year_text) if year_text.isdigit() else year_text,
                                          value=request.POST.get("value", ""), source=request.POST.get("source", ""))
        if outcome.ok:
            flash.success(request, _("Saved: %(what)s of %(region)s for %(year)s is %(value)s yuan.") % {
                "what": stat.get_kind_display(), "region": region.name, "year": stat.year,
                "value": display.money(stat.value)})
        return redirect(back)
    if request.method == "POST":
        if not editable_regions:
            raise PermissionDenied(_("Only policy administrators enter statistics."))
        form = StatisticForm(request.POST, regions=editable_regions)
        if form.is_valid():
            data = form.cleaned_data
            region = next(r for r in editable_regions if r.code == data["region"])
            with refusals(form) as outcome:
                stat = services.set_statistic(
                    acting_user=user, region=region, kind=data["kind"], year=data["year"],
                    value=data["value"], source=data["source"],
                )
            if outcome.ok:
                flash.success(request, _("Saved: %(what)s of %(region)s for %(year)s is %(value)s yuan.") % {
                    "what": stat.get_kind_display(), "region": region.name, "year": stat.year,
                    "value": display.money(stat.value)})
                return redirect("policies:statistics")
    elif editable_regions:
        initial = {"year": timezone.localdate().year - 1}
        edit = request.GET.get("edit")
        if edit and edit.isdigit():
            stat = get_object_or_404(selectors.visible_statistics(user), pk=int(edit))
            if not selectors.can_edit_statistic(user, stat.region_id):
                raise PermissionDenied
            initial = {"region": stat.region_id, "kind": stat.kind, "year": stat.year, "value": stat.value,
                       "source": stat.source}
        form = StatisticForm(initial=initial, regions=editable_regions)
    rows = list(selectors.statistics_for_admin(user, region_code=request.GET.get("region") or None))
    for stat in rows:
        stat.editable = selectors.can_edit_statistic(user, stat.region_id)
    history = list(selectors.statistics_history(user))
    figure_regions = list(selectors.admin_regions(user).order_by("code"))
    figure_region = request.GET.get("region") or (editable_regions[0].code if editable_regions else
                                                  (figure_regions[0].code if figure_regions else ""))
    year_text = request.GET.get("year") or ""
    figure_year = int(year_text) if year_text.isdigit() and 1990 <= int(year_text) <= 2100 else timezone.localdate().year
    figures = []
    if figure_region and any(r.code == figure_region for r in figure_regions):
        figures = selectors.figures_for(user, region_code=figure_region, year=figure_year)
    return render(request, "policies/statistics.html", {
        "figures": figures,
        "figure_regions": figure_regions,
        "figure_region": figure_region,
        "figure_year": figure_year,
        "can_enter_figures": bool(figure_region) and selectors.can_edit_statistic(user, figure_region),
        "form": form,
        "rows": rows,
        "history": history,
    }, status=400 if form is not None and form.errors else 200)
