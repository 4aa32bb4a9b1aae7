"""The fund-impact simulation pages of a draft (issue 12): run it, watch its progress (htmx polls
the status fragment), read the report with its chart, download it as Excel. Policy admins of the
draft's region (and superusers) only."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.exports import xlsx_response
from portal.web import refusals

from . import selectors, simulation
from .models import SimulationStatus
from .views import policy_staff_required


class SimulationForm(forms.Form):
    year = forms.TypedChoiceField(label=gettext_lazy("year of claims"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this = timezone.localdate().year
        self.fields["year"].choices = [(y, str(y)) for y in range(this, 2019, -1)]
        self.fields["year"].initial = this - 1


def _draft(request, pk):
    version = get_object_or_404(selectors.visible_versions(request.user), pk=pk)
    if not simulation.may_simulate(request.user, version):
        raise PermissionDenied(_("Only a policy administrator of the version's region may simulate it."))
    return version


BAR = 320   # px of the longest bar


def chart(report: dict) -> dict:
    """Server-drawn bars (SVG) of the assistance paid by category, before and after."""
    rows = report.get("by_category") or []
    top = max([Decimal(r[k]) for r in rows for k in ("before", "after")] + [Decimal(1)])
    out, y = [], 8
    for r in rows:
        before, after = Decimal(r["before"]), Decimal(r["after"])
        out.append({"name": r["name"], "y": y, "before": before, "after": after, "change": Decimal(r["change"]),
                    "w_before": int(BAR * before / top), "w_after": int(BAR * after / top),
                    "y_after": y + 13, "y_text": y + 11})
        y += 34
    return {"rows": out, "height": y + 4, "label_x": 150, "bar_x": 150, "width": 150 + BAR + 130,
            "value_x": 150 + BAR + 6}


def _context(sim) -> dict:
    report = simulation.worded_report(sim.report) if sim is not None and sim.status == SimulationStatus.DONE else None
    return {"simulation": sim, "report": report, "chart": chart(report) if report else None}


@policy_staff_required
def simulation_page(request, pk):
    version = _draft(request, pk)
    form = SimulationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals(form, fields={"version": "year"}) as outcome:
            simulation.start_simulation(acting_user=request.user, version=version, year=form.cleaned_data["year"])
        if outcome.ok:
            return redirect("policies:version-simulation", pk=version.pk)
    sim = simulation.latest_simulation(version)
    if sim is not None and request.method != "POST":
        form = SimulationForm(initial={"year": sim.year})
    return render(request, "policies/simulation.html", {"version": version, "form": form, **_context(sim)})


@policy_staff_required
def simulation_status(request, sim_pk):
    with refusals():
        sim = simulation.simulation_for(request.user, sim_pk)
    return render(request, "policies/_simulation_status.html", {"version": sim.version, **_context(sim)})


@policy_staff_required
def simulation_excel(request, sim_pk):
    with refusals():
        sim = simulation.simulation_for(request.user, sim_pk)
    report = simulation.worded_report(sim.report) or {}
    if sim.status != SimulationStatus.DONE:
        raise PermissionDenied(_("The simulation has not finished."))
    d = Decimal
    rows = [[_("Version"), report["version"]["document_number"], "", ""], [_("Year"), report["year"], "", ""],
            [_("Person-years"), report["person_years"], "", ""],
            [_("Refused by the engine"), report["refused_person_years"], "", ""], [],
            [_("What"), _("In force"), _("Draft"), _("Change")]]
    names = {"assistance": _("assistance"), "tilted": _("tilted assistance"), "out_of_pocket": _("out of pocket"),
             "paid": _("paid by the fund (assistance + tilted)"), "total": _("total cost")}
    for key in ("paid", "assistance", "tilted", "out_of_pocket", "total"):
        t = report["totals"][key]
        rows.append([names[key], d(t["before"]), d(t["after"]), d(t["change"])])
    rows += [[], [_("Category"), _("In force"), _("Draft"), _("Change")]]
    rows += [[r["name"], d(r["before"]), d(r["after"]), d(r["change"])] for r in report["by_category"]]
    rows += [[], [_("Claim kind"), _("In force"), _("Draft"), _("Change")]]
    rows += [[r["name"], d(r["before"]), d(r["after"]), d(r["change"])] for r in report["by_kind"]]
    rows += [[], [_("Case"), _("In force"), _("Draft"), _("Change")]]
    rows += [[r["case_number"], d(r["before"]), d(r["after"]), d(r["change"])] for r in report["largest"]]
    rows += [[], [_("Refused"), _("Person-years"), _("Cases (first ones)"), ""]]
    rows += [[r["reason"], r["count"], "、".join(str(c) for c in r["cases"]), ""] for r in report["refused"]]
    budget = report["budget"]
    rows += [[], [_("Budget of the year"), d(budget["amount"]) if budget["amount"] else _("not entered"), "", ""],
             [_("Projected spend"), d(budget["before"]), d(budget["after"]), ""]]
    name = f"simulation-{report['version']['id']}-{report['year']}.xlsx"
    return xlsx_response(name, [_("Fund-impact simulation"), "", "", ""], rows, title=_("Simulation"))
