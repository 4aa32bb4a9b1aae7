"""Pages of the monitoring part: the warnings (list, export, handing them to 民政 / 乡村振兴, the
outcome of one) and the runs. Thin: forms shape input, services write, selectors read."""
from __future__ import annotations

import re

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases.exchange.forms import RegionYearForm
from cases.exchange.models import DeliveryKind
from cases.exchange.services import outbound
from portal import exports, lists
from portal.lists import Column, Sorting
from portal.permissions import allowed, permission_required
from portal.roles.scoping import scoped_regions
from portal.web import refusals

from . import selectors, services
from .filters import WarningFilter
from .forms import OutcomeForm
from .models import WarningKind, WarningOutcome

#: the warning list's sortable columns; id breaks ties
WARNING_SORTING = Sorting([
    Column("person", gettext_lazy("person"), ("person__name",)),
    Column("region", gettext_lazy("region"), ("region_id",)),
    Column("year", gettext_lazy("year"), ("year",)),
    Column("kind", gettext_lazy("kind"), ("kind",)),
    Column("date", gettext_lazy("date crossed"), ("claim_date",)),
    Column("threshold", gettext_lazy("threshold"), ("threshold",)),
    Column("out_of_pocket", gettext_lazy("year out-of-pocket"), ("out_of_pocket",)),
    Column("outcome", gettext_lazy("outcome"), ("outcome",)),
], default=("-year", "-claim_date", "-id"))


def _warning_filters(request, qs):
    """The warning list's filter over the warnings the user may see (scoping first, then the filter)."""
    filterset = WarningFilter(request.GET, queryset=qs, request=request)
    return filterset.qs, {k: request.GET.get(k, "") for k in ("year", "kind", "state", "region", "q")}, filterset


@permission_required("exchange.view_warnings")
def warning_list(request):
    qs, f, filterset = _warning_filters(request, selectors.warnings_for(request.user))
    by_state = qs.aggregate(open=Count("id", filter=Q(outcome="")), done=Count("id", filter=~Q(outcome="")))
    listing = lists.listing(request, qs, sorting=WARNING_SORTING, export_url=reverse("monitoring:warning_list_export"))
    return render(request, "monitoring/warning_list.html", {
        "listing": listing, "page": listing.page, "f": f, "form": filterset.form, "kinds": WarningKind.choices,
        "outcomes": WarningOutcome.choices, "counts": by_state, "can_handle": selectors.can_handle_warnings(request.user),
        "query": listing.url()[1:],
    }, status=400 if filterset.form.errors else 200)


@permission_required("exchange.view_warnings")
def warning_list_export(request):
    """The warning list of the current filter as an Excel file with masked identity numbers, for the
    bureau's own use, recorded in the export log. (Handing the list to 民政 / 乡村振兴, with full
    numbers, is ``warning_export``: an outbound delivery.)"""
    qs, _f, filterset = _warning_filters(request, selectors.warnings_for(request.user))
    back = f"{reverse('monitoring:warning_list')}?{request.GET.urlencode()}"
    if not filterset.is_valid():
        return redirect(back)
    headers = [_("person"), _("identity number"), _("region"), _("year"), _("kind"), _("date crossed"), _("threshold"),
               _("year out-of-pocket"), _("outcome")]

    def row(w):
        return [w.person.name, w.person.masked_id_number, w.region.name, w.year, w.get_kind_display(), w.claim_date,
                w.threshold, w.out_of_pocket, w.get_outcome_display() if w.outcome else _("open")]

    try:
        return lists.export(request, qs, list_name="warnings", sorting=WARNING_SORTING, headers=headers, row=row,
                            title=_("Monitoring warnings"), filters=lists.describe_filters(filterset.cleaned))
    except lists.TooManyRows as exc:
        messages.error(request, _("The list holds %(n)s rows; an export takes at most %(limit)s. Narrow the filter.")
                       % {"n": exc.count, "limit": lists.EXPORT_LIMIT})
        return redirect(back)


@permission_required("exchange.view_warnings")
@require_http_methods(["GET", "POST"])
def warning_detail(request, pk: int):
    warning = selectors.warnings_for(request.user).filter(pk=pk).first()
    if warning is None:
        raise Http404
    form = OutcomeForm(request.POST or None)
    can_handle = not warning.outcome and allowed(request.user, "exchange.handle_warning", warning)
    if request.method == "POST" and can_handle and form.is_valid():
        with refusals(form) as outcome:
            services.record_outcome(acting_user=request.user, warning_id=warning.pk, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, _("Outcome recorded."))
            return redirect("monitoring:warning_list")
    return render(request, "monitoring/warning_detail.html", {"w": warning, "form": form, "can_handle": can_handle,
                                                              "claim": _warning_claim(warning)})


def _warning_claim(warning):
    """The claim whose date crossed the threshold (its reference is ``c<claim id>``), of the warned person."""
    from cases.models import Claim

    match = re.fullmatch(r"c(\d+)", warning.claim_ref or "")
    if match is None:
        return None
    return Claim.objects.filter(pk=int(match.group(1)), person_id=warning.person_id).first()


@permission_required("exchange.view_warnings")
def warning_export(request, fmt: str):
    qs, f, filterset = _warning_filters(request, selectors.warnings_for(request.user))
    if not filterset.is_valid():
        return redirect(f"{reverse('monitoring:warning_list')}?{request.GET.urlencode()}")
    region = (f["region"] or _home_region(request.user)) or ""
    with refusals(request=request) as outcome:
        department = outbound.recipient_for(request.user, DeliveryKind.WARNINGS, region or "000000",
                                            request.GET.get("department") or None)
    if not outcome.ok:
        return redirect(f"{reverse('monitoring:warning_list')}?{request.GET.urlencode()}")
    warnings = list(outbound.warnings_queryset_for_delivery(qs))
    from portal.regions.models import Region

    if not Region.objects.filter(pk=region).exists():
        region = _home_region(request.user)
    outbound.record(acting_user=request.user, kind=DeliveryKind.WARNINGS, department=department,
                    region_code=region,
                    period=f["year"] or str(timezone.localdate().year), file_format=fmt,
                    channel="download", person_ids=[w.person_id for w in warnings])
    return exports.table_response(fmt, f"warnings_{f['year'] or 'all'}", outbound.WARNING_HEADERS,
                                  outbound.warning_rows(warnings), "预警名单")


def _home_region(user) -> str:
    region = scoped_regions(user).order_by("code").first()
    return region.code if region else ""


@permission_required("exchange.view_monitoring")
@require_http_methods(["GET", "POST"])
def monitoring_runs(request):
    user = request.user
    regions = list(scoped_regions(user, roles=services.RUN_ROLES).order_by("code"))
    form = RegionYearForm(request.POST or None, regions=regions,
                          initial={"year": services.default_year(), "region": regions[0].code if regions else ""})
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            run = services.start_run(acting_user=user, trigger="manual", year=form.cleaned_data["year"],
                                       region_code=form.cleaned_data["region"])
        if outcome.ok:
            run.refresh_from_db()
            if run.finished_at:
                messages.success(request, _("Monitoring finished: %(n)d new warnings.") % {"n": run.warnings_created})
            else:
                messages.success(request, _("Monitoring started; refresh this page to see the result."))
            return redirect("monitoring:runs")
    return render(request, "monitoring/monitoring.html", {
        "form": form, "runs": selectors.monitoring_runs_for(user)[:30], "can_run": bool(regions)})


