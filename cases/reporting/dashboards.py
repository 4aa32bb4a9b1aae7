"""The region dashboards: figures from the cases part's claims, settlements and payments, each an
aggregation in SQL, each with a chart (pygal, server-side SVG, no script) and the table it draws.

* assistance and tilted assistance of paid cases per month, against the year's budget;
* the same per identity category;
* people who reached an annual cap;
* warnings by kind and outcome;
* referral compliance and in-city treatment (赣州 ≥ 90 %, 赣市府办字〔2022〕112号 十三);
* the share of cost outside the policy scope (≤ 10 %).
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, IntegerField, Sum, Value, When
from django.db.models.functions import Coalesce, ExtractMonth
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cases.monitoring.models import MonitoringWarning, WarningKind, WarningOutcome
from policies.categories import label as category_label
from portal.roles.scoping import within

from .models import AssistanceBudget

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
MONTHS = list(range(1, 13))
IN_CITY = ("county", "city")
# The engine's cap flags stored on each settlement line, shown as these caps.
CAP_FLAGS = ("assistance_cap_reached", "tilted_cap_reached")
IN_CITY_TARGET = Decimal("0.90")
OUTSIDE_SCOPE_LIMIT = Decimal("0.10")


@dataclass
class Chart:
    key: str
    title: str
    headers: list[str]
    rows: list[list]
    svg: str = ""
    note: str = ""
    footer: list | None = None
    alerts: list[str] = field(default_factory=list)


def _month_label(m: int) -> str:
    return _("%(m)d月") % {"m": m}


def _ratio(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{(value * 100).quantize(Decimal('0.1'))} %"


def _style():
    from pygal.style import Style

    return Style(font_family='"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif', background="white",
                 plot_background="white", colors=("#0b6bcb", "#b26a00", "#2e7d32", "#c62828", "#616e7c", "#6a1b9a"))


def _chart(kind: str, **options):
    import pygal

    cls = {"bar": pygal.Bar, "stacked": pygal.StackedBar, "line": pygal.Line}[kind]
    return cls(style=_style(), js=[], disable_xml_declaration=True, width=760, height=320, legend_at_bottom=True,
               print_values=False, show_y_guides=True, truncate_legend=-1,
               no_data_text=_("No data"), **options)


_SCRIPT = re.compile(r"<script.*?</script>", re.S)


def _render(chart) -> str:
    """The chart as inline SVG, without pygal's tooltip script (the table beside it has the figures)."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _scope(qs, region_code: str, field: str = "region"):
    return qs.filter(within(region_code, field=field))


# ---------------------------------------------------------------------------------------------


def paid_by_month(region_code: str, year: int) -> Chart:
    from cases.models import Adjustment, SettlementLine

    lines = _scope(SettlementLine.objects.filter(
        in_application=True, settlement__application__state="paid", settlement__application__paid_at__year=year,
        settlement_id=F("settlement__application__approved_settlement_id")), region_code,
        "settlement__application__region")
    by_month = {r["m"]: r for r in lines.annotate(m=ExtractMonth("settlement__application__paid_at")).values("m")
                .annotate(a=Sum("assistance"), g=Sum("tilted"))}
    adjustments = {r["m"]: r["s"] for r in _scope(Adjustment.objects.filter(status="settled", settled_at__year=year),
                                                  region_code, "application__region")
                   .annotate(m=ExtractMonth("settled_at")).values("m").annotate(s=Sum("amount"))}
    budget = AssistanceBudget.objects.filter(region_id=region_code, year=year).first()
    rows, cumulative = [], ZERO
    for m in MONTHS:
        a = by_month.get(m, {}).get("a") or ZERO
        g = by_month.get(m, {}).get("g") or ZERO
        adj = adjustments.get(m) or ZERO
        cumulative += a + g + adj
        rows.append([_month_label(m), a, g, adj, cumulative,
                     _percent(_ratio(cumulative, budget.amount)) if budget else "—"])
    chart = _chart("bar", title=_("Assistance paid per month"))
    chart.x_labels = [r[0] for r in rows]
    chart.add(_("assistance"), [float(r[1]) for r in rows])
    chart.add(_("tilted assistance"), [float(r[2]) for r in rows])
    chart.add(_("adjustments"), [float(r[3]) for r in rows])
    line = _chart("line", title=_("Cumulative against the budget"))
    line.x_labels = chart.x_labels
    line.add(_("cumulative paid"), [float(r[4]) for r in rows])
    if budget:
        line.add(_("budget"), [float(budget.amount)] * 12)
    total = [sum((r[i] for r in rows), ZERO) for i in (1, 2, 3)]
    out = Chart("paid", _("Assistance paid per month"),
                [_("month"), _("assistance"), _("tilted assistance"), _("adjustments (补发/追回)"),
                 _("cumulative"), _("share of the budget")], rows,
                svg=_render(chart) + _render(line),
                footer=[_("total"), *total, sum(total, ZERO),
                        _percent(_ratio(sum(total, ZERO), budget.amount)) if budget else "—"],
                note=(_("Budget %(year)s: %(amount)s 元") % {"year": year, "amount": budget.amount}) if budget
                else _("No budget entered for %(year)s.") % {"year": year})
    if budget and sum(total, ZERO) > budget.amount:
        out.alerts.append(_("Payments exceed the year's budget."))
    return out


def paid_by_category(region_code: str, year: int) -> Chart:
    from cases.models import SettlementLine

    lines = _scope(SettlementLine.objects.filter(
        in_application=True, settlement__application__state="paid", settlement__application__paid_at__year=year,
        settlement_id=F("settlement__application__approved_settlement_id")), region_code,
        "settlement__application__region")
    data = list(lines.values("category").annotate(a=Sum("assistance"), g=Sum("tilted"),
                                                  people=Count("settlement__application__person", distinct=True))
                .order_by("category"))
    rows = [[str(category_label(r["category"]) if r["category"] else _("none")), r["people"], r["a"] or ZERO, r["g"] or ZERO,
             (r["a"] or ZERO) + (r["g"] or ZERO)] for r in data]
    chart = _chart("stacked", title=_("Assistance paid per category"))
    chart.x_labels = [r[0] for r in rows]
    chart.add(_("assistance"), [float(r[2]) for r in rows])
    chart.add(_("tilted assistance"), [float(r[3]) for r in rows])
    return Chart("category", _("Assistance paid per category"),
                 [_("category"), _("people"), _("assistance"), _("tilted assistance"), _("total")], rows,
                 svg=_render(chart),
                 footer=[_("total"), sum(r[1] for r in rows), *[sum((r[i] for r in rows), ZERO) for i in (2, 3, 4)]])


def caps_reached(region_code: str, year: int) -> Chart:
    from cases.models import SettlementLine

    lines = _scope(SettlementLine.objects.filter(settlement__status="current", settlement__year=year), region_code,
                   "settlement__application__region")
    rows = []
    for flag, label in zip(CAP_FLAGS, (_("annual assistance cap"), _("annual tilted-assistance cap"))):
        people = lines.filter(**{flag: True}).values("settlement__application__person").distinct().count()
        rows.append([label, people])
    chart = _chart("bar", title=_("People who reached a cap"))
    chart.x_labels = [r[0] for r in rows]
    chart.add(_("people"), [r[1] for r in rows])
    return Chart("caps", _("People who reached a cap"), [_("cap"), _("people")], rows, svg=_render(chart))


def warnings_by_status(region_code: str, year: int) -> Chart:
    qs = _scope(MonitoringWarning.objects.filter(year=year), region_code)
    counts = {(r["kind"], r["outcome"]): r["n"] for r in qs.values("kind", "outcome").annotate(n=Count("id"))}
    statuses = [("", _("open"))] + [(str(v), str(label)) for v, label in WarningOutcome.choices]
    rows = []
    for kind, label in WarningKind.choices:
        rows.append([str(label), *[counts.get((kind, s), 0) for s, _l in statuses]])
    chart = _chart("stacked", title=_("Warnings by outcome"))
    chart.x_labels = [r[0] for r in rows]
    for i, (_s, label) in enumerate(statuses, start=1):
        chart.add(label, [r[i] for r in rows])
    return Chart("warnings", _("Warnings by outcome"), [_("kind"), *[label for _s, label in statuses]], rows,
                 svg=_render(chart))


def referral_and_location(region_code: str, year: int) -> Chart:
    from cases.models import Claim

    qs = _scope(Claim.objects.filter(date__year=year, voided_at__isnull=True), region_code)
    data = {r["m"]: r for r in qs.annotate(m=ExtractMonth("date")).values("m").annotate(
        n=Count("id"),
        referred=Sum(Case(When(referral_compliant=True, then=1), default=0, output_field=IntegerField())),
        in_city=Sum(Case(When(location__in=IN_CITY, then=1), default=0, output_field=IntegerField())),
    )}
    rows = []
    totals = [0, 0, 0]
    for m in MONTHS:
        r = data.get(m, {"n": 0, "referred": 0, "in_city": 0})
        totals = [totals[0] + r["n"], totals[1] + (r["referred"] or 0), totals[2] + (r["in_city"] or 0)]
        rows.append([_month_label(m), r["n"], _percent(_ratio(r["referred"] or 0, r["n"])),
                     _percent(_ratio(r["in_city"] or 0, r["n"]))])
    chart = _chart("line", title=_("Referral compliance and in-city treatment"), range=(0, 100))
    chart.x_labels = [r[0] for r in rows]
    chart.add(_("referred properly (%)"), [_pct_value(data.get(m), "referred") for m in MONTHS])
    chart.add(_("treated in the city (%)"), [_pct_value(data.get(m), "in_city") for m in MONTHS])
    chart.add(_("target 90 %"), [90] * 12)
    in_city_rate = _ratio(totals[2], totals[0])
    out = Chart("referral", _("Referral compliance and in-city treatment"),
                [_("month"), pgettext("number of", "claims"), _("referred properly"), _("treated in the city")], rows,
                svg=_render(chart),
                footer=[_("year"), totals[0], _percent(_ratio(totals[1], totals[0])), _percent(in_city_rate)],
                note=_("Target: at least 90 percent of patients treated inside the city (赣市府办字〔2022〕112号 十三)."))
    if in_city_rate is not None and in_city_rate < IN_CITY_TARGET:
        out.alerts.append(_("In-city treatment is below the 90 % target."))
    return out


def _pct_value(row, key):
    if not row or not row["n"]:
        return None
    return float((Decimal(row[key] or 0) * 100 / row["n"]).quantize(Decimal("0.1")))


def outside_scope(region_code: str, year: int) -> Chart:
    from cases.models import Claim

    qs = _scope(Claim.objects.filter(date__year=year, voided_at__isnull=True), region_code)
    data = {r["m"]: r for r in qs.annotate(m=ExtractMonth("date")).values("m").annotate(
        total=Coalesce(Sum("total"), Value(ZERO), output_field=MONEY),
        scope=Coalesce(Sum("policy_scope"), Value(ZERO), output_field=MONEY))}
    rows, t_total, t_scope = [], ZERO, ZERO
    for m in MONTHS:
        r = data.get(m, {"total": ZERO, "scope": ZERO})
        t_total += r["total"]
        t_scope += r["scope"]
        rows.append([_month_label(m), r["total"], r["total"] - r["scope"], _percent(_ratio(r["total"] - r["scope"],
                                                                                            r["total"]))])
    chart = _chart("line", title=_("Share of cost outside the policy scope"))
    chart.x_labels = [r[0] for r in rows]
    chart.add(_("outside the scope (%)"), [
        float(((data[m]["total"] - data[m]["scope"]) * 100 / data[m]["total"]).quantize(Decimal("0.1")))
        if m in data and data[m]["total"] else None for m in MONTHS])
    chart.add(_("limit 10 %"), [10] * 12)
    share = _ratio(t_total - t_scope, t_total)
    out = Chart("scope", _("Share of cost outside the policy scope"),
                [_("month"), _("total cost"), _("outside the scope"), _("share")], rows, svg=_render(chart),
                footer=[_("year"), t_total, t_total - t_scope, _percent(share)],
                note=_("Cost outside the policy scope should stay at or below 10 percent of the total."))
    if share is not None and share > OUTSIDE_SCOPE_LIMIT:
        out.alerts.append(_("The share outside the policy scope is above 10 %."))
    return out


CHARTS = {
    "paid": paid_by_month, "category": paid_by_category, "caps": caps_reached, "warnings": warnings_by_status,
    "referral": referral_and_location, "scope": outside_scope,
}


def all_charts(region_code: str, year: int) -> list[Chart]:
    return [fn(region_code, year) for fn in CHARTS.values()]


def default_year() -> int:
    return datetime.date.today().year

