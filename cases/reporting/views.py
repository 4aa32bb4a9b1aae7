"""Pages of the reporting part: the dashboards (charts as SVG images and Excel sheets) and the
assistance budgets they compare the payments with."""
from __future__ import annotations

import re

from csp.decorators import csp_replace
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import exports
from portal.permissions import permission_required, roles_for
from portal.roles.scoping import scope_queryset, scoped_regions
from portal.web import refusals

from . import dashboards, services
from .forms import BudgetForm
from .models import AssistanceBudget

DASHBOARD_ROLES = roles_for("exchange.view_dashboard")


def _dashboard_params(request):
    regions = list(scoped_regions(request.user, roles=DASHBOARD_ROLES).order_by("code"))
    if not regions:
        raise Http404
    codes = {r.code for r in regions}
    region = request.GET.get("region") or regions[0].code
    if region not in codes:
        raise Http404
    year = request.GET.get("year") or ""
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else timezone.localdate().year
    return regions, region, year


@permission_required("exchange.view_dashboard")
def dashboard(request):
    regions, region, year = _dashboard_params(request)
    return render(request, "reporting/dashboard.html", {
        "regions": regions, "region": region, "year": year, "charts": dashboards.all_charts(region, year),
        "years": list(range(timezone.localdate().year, 2021, -1)),
    })


def _one_svg(svg: str) -> str:
    """A chart made of several pygal SVGs (one above the other) as one SVG document."""
    parts = [p for p in re.split(r"(?=<svg xmlns=)", svg) if p.strip()]
    if len(parts) <= 1:
        return svg
    height = 320
    inner = "".join(p.replace("<svg xmlns=", f'<svg x="0" y="{i * height}" width="760" height="{height}" xmlns=', 1)
                    for i, p in enumerate(parts))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 {height * len(parts)}" '
            f'width="760" height="{height * len(parts)}">{inner}</svg>')


@permission_required("exchange.view_dashboard")
@csp_replace({"default-src": ["'none'"], "script-src": ["'none'"], "style-src": ["'unsafe-inline'"]})
def dashboard_chart(request, key: str):
    """One chart as an SVG image (``<img>`` on the dashboard). pygal styles its SVG with a
    ``<style>`` element, which the pages' policy refuses; this answer alone carries a policy of
    its own: no script, nothing loaded, only the SVG's own styles (an image runs no script anyway)."""
    _regions, region, year = _dashboard_params(request)
    fn = dashboards.CHARTS.get(key)
    if fn is None:
        raise Http404
    response = HttpResponse(_one_svg(str(fn(region, year).svg)), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@permission_required("exchange.view_dashboard")
def dashboard_export(request, key: str):
    regions, region, year = _dashboard_params(request)
    fn = dashboards.CHARTS.get(key)
    if fn is None:
        raise Http404
    chart = fn(region, year)
    rows = list(chart.rows) + ([chart.footer] if chart.footer else [])
    return exports.table_response("xlsx", f"{key}_{region}_{year}", chart.headers, rows, chart.title[:31])


@permission_required("exchange.view_dashboard")
@require_http_methods(["GET", "POST"])
def budget_list(request):
    user = request.user
    regions = list(scoped_regions(user, roles=roles_for("exchange.edit_budget")).order_by("code"))
    form = BudgetForm(request.POST or None, regions=regions,
                      initial={"year": timezone.localdate().year, "region": regions[0].code if regions else ""})
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            services.set_budget(acting_user=user, region_code=form.cleaned_data["region"],
                               year=form.cleaned_data["year"], amount=form.cleaned_data["amount"])
        if outcome.ok:
            messages.success(request, _("Budget saved."))
            return redirect("reporting:budgets")
    visible = scope_queryset(AssistanceBudget.objects.select_related("region", "updated_by"), user,
                             roles=DASHBOARD_ROLES)
    return render(request, "reporting/budgets.html", {"form": form, "budgets": visible, "can_edit": bool(regions)})
