"""Pages of the enrolment-subsidy part: the monthly lists (produce, show, hand to 财政 / 税务) and
the contribution standards and tiers. Thin: forms shape input, services write, selectors read."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.exchange.models import DeliveryKind
from cases.exchange.services import outbound
from portal import exports, lists
from portal.permissions import permission_required, roles_for
from portal.roles.scoping import scope_queryset, scoped_regions
from portal.web import refusals

from . import selectors, services
from .forms import ListForm, StandardForm, TierForm
from .models import ContributionStandard


@permission_required("exchange.view_subsidy_lists")
@require_http_methods(["GET", "POST"])
def subsidy_lists(request):
    user = request.user
    admin_regions = [r for r in scoped_regions(user, roles=roles_for("exchange.edit_enrolment_subsidy")).order_by("code")
                     if r.code in set(services.policy_regions())]
    year, month = services.previous_month()
    form = ListForm(request.POST or None, regions=admin_regions,
                    initial={"year": year, "month": month, "region": admin_regions[0].code if admin_regions else ""})
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            lst, created = services.produce_list(acting_user=user, region_code=form.cleaned_data["region"],
                                                year=form.cleaned_data["year"], month=form.cleaned_data["month"])
        if outcome.ok:
            if not created:
                messages.info(request, _("This month's list was already produced; here it is."))
            return redirect("enrolment:subsidy_list", lst.pk)
    today = timezone.localdate()
    bases = []
    for region in scoped_regions(user).filter(code__in=services.policy_regions()).order_by("code"):
        basis = services.legal_basis(region.code, today)
        if basis:
            bases.append({"region": region.name, "document": basis[0], "clauses": basis[1]})
    return render(request, "enrolment/subsidy_lists.html", {
        "page": lists.paginate(request, selectors.subsidy_lists_for(user)), "form": form, "can_produce": bool(admin_regions),
        "bases": bases})


@permission_required("exchange.view_subsidy_lists")
def subsidy_list(request, pk: int):
    lst = selectors.subsidy_lists_for(request.user).filter(pk=pk).first()
    if lst is None:
        raise Http404
    items = selectors.subsidy_items_for(request.user, lst)
    change = request.GET.get("change") or ""
    if change:
        items = items.filter(change=change)
    return render(request, "enrolment/subsidy_list.html", {
        "lst": lst, "page": lists.paginate(request, items), "change": change,
        "deliveries": lst.deliveries.select_related("department", "delivered_by")[:20],
    })


@permission_required("exchange.view_subsidy_lists")
def subsidy_export(request, pk: int, fmt: str):
    lst = selectors.subsidy_lists_for(request.user).filter(pk=pk).first()
    if lst is None:
        raise Http404
    with refusals(request=request) as outcome:
        department = outbound.recipient_for(request.user, DeliveryKind.SUBSIDY_LIST, lst.region_id,
                                            request.GET.get("department") or None)
    if not outcome.ok:
        return redirect("enrolment:subsidy_list", lst.pk)
    items = list(selectors.subsidy_items_for(request.user, lst).order_by("change", "person_id"))
    outbound.record(acting_user=request.user, kind=DeliveryKind.SUBSIDY_LIST, department=department,
                    region_code=lst.region_id, period=f"{lst.year}-{lst.month:02d}", file_format=fmt,
                    channel="download", person_ids=[i.person_id for i in items], subsidy_list=lst)
    return exports.table_response(fmt, f"subsidy_{lst.region_id}_{lst.year}{lst.month:02d}", outbound.SUBSIDY_HEADERS,
                                  outbound.subsidy_rows(items), "资助参保名单")


@permission_required("exchange.manage_enrolment_subsidy")
@require_http_methods(["GET", "POST"])
def standards(request):
    user = request.user
    regions = list(scoped_regions(user, roles=roles_for("exchange.edit_enrolment_subsidy")).order_by("code"))
    posted = request.POST if request.method == "POST" else None
    form = StandardForm(posted if posted and posted.get("form") != "tier" else None, regions=regions,
                        initial={"year": timezone.localdate().year, "region": regions[0].code if regions else ""})
    tier_form = TierForm(posted if posted and posted.get("form") == "tier" else None,
                         initial={"year": timezone.localdate().year, "tier": 2})
    if posted and posted.get("form") == "tier" and tier_form.is_valid():
        with refusals(tier_form) as outcome:
            services.set_tier(acting_user=user, **tier_form.cleaned_data)
        if outcome.ok:
            messages.success(request, _("Enrolment tier saved."))
            return redirect("enrolment:standards")
    if posted and posted.get("form") != "tier" and form.is_valid():
        with refusals(form) as outcome:
            services.set_contribution_standard(acting_user=user, region_code=form.cleaned_data["region"],
                                              year=form.cleaned_data["year"],
                                              tier1_personal=form.cleaned_data["tier1_personal"],
                                              tier2_personal=form.cleaned_data["tier2_personal"],
                                              reference=form.cleaned_data["reference"])
        if outcome.ok:
            messages.success(request, _("Contribution standard saved."))
            return redirect("enrolment:standards")
    visible = scope_queryset(ContributionStandard.objects.select_related("region", "updated_by"), user,
                             roles=roles_for("exchange.manage_enrolment_subsidy"))
    return render(request, "enrolment/standards.html", {"form": form, "tier_form": tier_form, "standards": visible,
                                                       "can_edit": bool(regions)})
