"""A person's settlement input (shared/spec/settlement.md) as forms a person fills in, in words:
the person, the statistics to use, the identities and the claims as rows with labelled fields —
and, for a worked example, the result expected per claim and the monitoring alerts. Used by the
worked-example editor and the what-if page; ``payload_from`` and ``initial_from`` convert between
the forms and the engine's input, ``expected_from`` / ``expected_initial`` for the expectations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .engine.constants import ALERT_NAMES, CATEGORY_NAMES, KIND_NAMES, STATISTIC_NAMES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONEY_ATTRS = {"inputmode": "decimal", "size": 10, "class": "num"}


def _money_field(label, required=True):
    return forms.DecimalField(label=label, required=required, min_value=Decimal("0"), max_digits=14, decimal_places=2,
                              widget=forms.TextInput(attrs=MONEY_ATTRS))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


YES_NO = [("yes", _("yes")), ("no", _("no"))]
NO_YES = [("no", _("no")), ("yes", _("yes"))]


class PersonForm(forms.Form):
    residence = forms.ChoiceField(label=_("residence"), choices=[("rural", _("rural")), ("urban", _("urban"))])
    scheme = forms.ChoiceField(label=_("insurance scheme"),
                               choices=[("resident", _("resident scheme")), ("employee", _("employee scheme"))])
    tilted_applied = forms.ChoiceField(label=_("applied for tilted assistance"), choices=NO_YES)


class StatisticRowForm(forms.Form):
    kind = forms.ChoiceField(label=_("statistic"), choices=list(STATISTIC_NAMES.items()), initial="city_income")
    year = forms.IntegerField(label=_("year of the figure"), min_value=1990, max_value=2100,
                              widget=forms.NumberInput(attrs={"size": 5}))
    value = _money_field(_("value (yuan)"))


class IdentityForm(forms.Form):
    category = forms.ChoiceField(label=_("category"))
    start = forms.DateField(label=_("start"), widget=DATE)
    end = forms.DateField(label=_("end"), required=False, widget=DATE)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + list(categories)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end is before the start."))
        return data


class ClaimForm(forms.Form):
    id = forms.CharField(label=_("no."), max_length=40, widget=forms.TextInput(attrs={"size": 4}))
    date = forms.DateField(label=_("settlement date"), widget=DATE)
    kind = forms.ChoiceField(label=_("claim kind"), choices=list(KIND_NAMES.items()), initial="inpatient")
    special_disease = forms.ChoiceField(label=_("special disease"), choices=NO_YES, initial="no")
    hospital_level = forms.TypedChoiceField(label=_("hospital level"), coerce=int, initial=1,
                                            choices=[(1, _("level 1")), (2, _("level 2")), (3, _("level 3"))])
    location = forms.ChoiceField(label=_("place of treatment"), initial="county", choices=[
        ("county", _("in the county")), ("city", _("in the city")), ("province", _("in the province")),
        ("out_of_province", _("outside the province"))])
    referral_compliant = forms.ChoiceField(label=_("properly referred"), choices=YES_NO, initial="yes")
    total = _money_field(_("total cost"))
    policy_scope = _money_field(_("cost within policy scope"))
    basic_paid = _money_field(_("paid by basic insurance"), required=False)
    critical_paid = _money_field(_("paid by critical-illness insurance"), required=False)

    INPUT_FIELDS = ("id", "date", "kind", "special_disease", "hospital_level", "location", "referral_compliant",
                    "total", "policy_scope", "basic_paid", "critical_paid")

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        total, scope = data.get("total"), data.get("policy_scope")
        if total is not None and scope is not None and scope > total:
            self.add_error("policy_scope", _("The cost within policy scope is more than the total cost."))
        return data


class ExampleClaimForm(ClaimForm):
    """A claim of a worked example with the result it must give."""

    exp_category = forms.ChoiceField(label=_("expected category"), required=False)
    exp_basic_paid = _money_field(_("expected basic B"))
    exp_critical_paid = _money_field(_("expected critical C"))
    exp_self_pay_in_scope = _money_field(_("expected self-pay in scope S"))
    exp_assistance = _money_field(_("expected assistance A"))
    exp_tilted = _money_field(_("expected tilted G"))
    exp_out_of_pocket = _money_field(_("expected out of pocket"))

    def __init__(self, *args, categories=(), must_be_refused=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exp_category"].choices = [("", _("none (ordinary resident)"))] + list(categories)
        if must_be_refused:
            for name in self.fields:
                if name.startswith("exp_"):
                    self.fields[name].required = False


class ExampleForm(forms.Form):
    """The worked example itself; its person and claims are the input forms."""
    name = forms.CharField(label=_("name of the example"), max_length=100,
                           help_text=_("Short, without spaces, e.g. 二类人员年度限额."))
    note = forms.CharField(label=_("clause or note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("The clause the example illustrates, or why its numbers are what they are."))
    must_be_refused = forms.BooleanField(label=_("the calculation must refuse this input"), required=False)


class PasteForm(forms.Form):
    pasted = forms.CharField(label=_("paste a settlement input"), required=False,
                             widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
                             help_text=_("Optional: a settlement input as in the settlement specification; it fills the rows above."))


class AlertForm(forms.Form):
    kind = forms.ChoiceField(label=_("alert"), choices=list(ALERT_NAMES.items()), initial="return_to_poverty")
    claim = forms.CharField(label=_("after claim no."), max_length=40, widget=forms.TextInput(attrs={"size": 4}))
    threshold = _money_field(_("threshold"))
    out_of_pocket = _money_field(_("year's out of pocket"))


class _Rows(forms.BaseFormSet):
    def __init__(self, *args, categories=(), must_be_refused=False, **kwargs):
        self.categories = categories
        self.must_be_refused = must_be_refused
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if self.form in (IdentityForm, ClaimForm, ExampleClaimForm):
            kwargs["categories"] = self.categories
        if self.form is ExampleClaimForm:
            kwargs["must_be_refused"] = self.must_be_refused
        return kwargs

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
                         use_required_attribute=False, renderer=self.renderer, **self.get_form_kwargs(None))
        self.add_fields(form, None)
        return form


class _ClaimRows(_Rows):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            cid = (form.cleaned_data or {}).get("id")
            if not cid:
                continue
            if cid in seen:
                form.add_error("id", _("Each claim needs its own number."))
            seen.add(cid)


StatisticRows = forms.formset_factory(StatisticRowForm, formset=_Rows, extra=1, max_num=10)
IdentityRows = forms.formset_factory(IdentityForm, formset=_Rows, extra=1, max_num=20)
ClaimRows = forms.formset_factory(ClaimForm, formset=_ClaimRows, extra=2, max_num=60)
ExampleClaimRows = forms.formset_factory(ExampleClaimForm, formset=_ClaimRows, extra=1, max_num=60)
AlertRows = forms.formset_factory(AlertForm, formset=_Rows, extra=1, max_num=10)


def category_choices(doc: dict | None) -> list[tuple[str, str]]:
    """The national categories and the region's own, in words."""
    from .editor import region_category_names

    out = dict(CATEGORY_NAMES)
    out.update(region_category_names(doc))
    return list(out.items())


@dataclass
class InputForms:
    """The forms of one settlement input: ``person``, ``statistics``, ``identities``, ``claims``
    (and, for a worked example, ``alerts``)."""
    person: PersonForm
    statistics: forms.BaseFormSet
    identities: forms.BaseFormSet
    claims: forms.BaseFormSet
    alerts: forms.BaseFormSet | None = None

    def all(self):
        return [f for f in (self.person, self.statistics, self.identities, self.claims, self.alerts) if f is not None]

    def is_valid(self) -> bool:
        return all([f.is_valid() for f in self.all()])


def build(data=None, *, initial: dict | None = None, categories=(), example: bool = False,
          must_be_refused: bool = False, extra_claims: int = 0) -> InputForms:
    """The forms, bound to ``data`` (a POST) or filled from ``initial`` (``initial_from``)."""
    initial = initial or {}
    claim_rows = ExampleClaimRows if example else ClaimRows
    if extra_claims:
        claim_rows = forms.formset_factory(claim_rows.form, formset=_ClaimRows, extra=extra_claims, max_num=60)
    return InputForms(
        person=PersonForm(data, prefix="person", initial=initial.get("person")),
        statistics=StatisticRows(data, prefix="stat", initial=initial.get("statistics")),
        identities=IdentityRows(data, prefix="ident", initial=initial.get("identities"), categories=categories),
        claims=claim_rows(data, prefix="claim", initial=initial.get("claims"), categories=categories,
                          must_be_refused=must_be_refused),
        alerts=AlertRows(data, prefix="alert", initial=initial.get("alerts")) if example else None,
    )


def _rows(formset) -> list[dict]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and f.has_changed()]


def payload_from(forms_: InputForms, region_code: str) -> dict:
    """The settlement input the valid forms describe."""
    person = forms_.person.cleaned_data
    statistics: dict[str, dict[str, str]] = {}
    for row in _rows(forms_.statistics):
        statistics.setdefault(row["kind"], {})[str(row["year"])] = _text(row["value"])
    payload = {
        "region": region_code,
        "person": {
            "residence": person["residence"], "scheme": person["scheme"],
            "identities": [{"category": r["category"], "start": r["start"].isoformat(),
                            "end": r["end"].isoformat() if r.get("end") else None} for r in _rows(forms_.identities)],
        },
    }
    if statistics:
        payload["statistics"] = statistics
    payload["tilted_applied"] = person["tilted_applied"] == "yes"
    claims = []
    for r in _rows(forms_.claims):
        claim = {"id": r["id"].strip(), "date": r["date"].isoformat(), "kind": r["kind"],
                 "special_disease": r["special_disease"] == "yes", "hospital_level": r["hospital_level"],
                 "location": r["location"], "referral_compliant": r["referral_compliant"] == "yes",
                 "total": _text(r["total"]), "policy_scope": _text(r["policy_scope"])}
        for key in ("basic_paid", "critical_paid"):
            if r.get(key) is not None:
                claim[key] = _text(r[key])
        claims.append(claim)
    payload["claims"] = claims
    return payload


def expected_from(forms_: InputForms, payload: dict) -> dict:
    """The expected result the valid example forms give (totals added up from the claims)."""
    from .examples import totals_of

    claims = []
    for r in _rows(forms_.claims):
        claims.append({"id": r["id"].strip(), "category": r.get("exp_category") or None,
                       **{key: _text(r.get(f"exp_{key}") or Decimal("0")) for key in
                          ("basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")}})
    alerts = [{"kind": r["kind"], "claim": r["claim"].strip(), "threshold": _text(r["threshold"]),
               "out_of_pocket": _text(r["out_of_pocket"])} for r in _rows(forms_.alerts)] if forms_.alerts else []
    return {"claims": claims, "totals": totals_of(claims, payload.get("claims", [])), "alerts": alerts}


def _yes(value) -> str:
    return "yes" if value else "no"


def initial_from(payload: dict | None, expected: dict | None = None) -> dict:
    """The forms' initial rows for a settlement input (and its expected result)."""
    payload = payload if isinstance(payload, dict) else {}
    person = payload.get("person") if isinstance(payload.get("person"), dict) else {}
    out = {
        "person": {"residence": person.get("residence", "rural"), "scheme": person.get("scheme", "resident"),
                   "tilted_applied": _yes(payload.get("tilted_applied"))},
        "statistics": [{"kind": kind, "year": int(year), "value": value}
                       for kind, years in (payload.get("statistics") or {}).items() if isinstance(years, dict)
                       for year, value in years.items() if str(year).isdigit()],
        "identities": [{"category": i.get("category"), "start": i.get("start"), "end": i.get("end")}
                       for i in person.get("identities") or [] if isinstance(i, dict)],
    }
    want = {c.get("id"): c for c in (expected or {}).get("claims", []) if isinstance(c, dict)}
    claims = []
    for c in payload.get("claims") or []:
        if not isinstance(c, dict):
            continue
        row = {"id": c.get("id"), "date": c.get("date"), "kind": c.get("kind", "inpatient"),
               "special_disease": _yes(c.get("special_disease")), "hospital_level": c.get("hospital_level", 1),
               "location": c.get("location", "county"),
               "referral_compliant": _yes(c.get("referral_compliant", True)),
               "total": c.get("total"), "policy_scope": c.get("policy_scope"),
               "basic_paid": c.get("basic_paid"), "critical_paid": c.get("critical_paid")}
        w = want.get(c.get("id"))
        if w:
            row["exp_category"] = w.get("category") or ""
            for key in ("basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket"):
                row[f"exp_{key}"] = w.get(key)
        claims.append(row)
    out["claims"] = claims
    out["alerts"] = [{k: a.get(k) for k in ("kind", "claim", "threshold", "out_of_pocket")}
                     for a in (expected or {}).get("alerts", []) if isinstance(a, dict)]
    return out


def parse_pasted(text: str) -> dict:
    """A settlement input pasted as JSON (settlement.md); ValueError with the reason in words."""
    try:
        payload = json.loads(text or "", parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(_("Not valid JSON: %(reason)s at line %(line)s, column %(column)s.")
                         % {"reason": exc.msg, "line": exc.lineno, "column": exc.colno}) from None
    if not isinstance(payload, dict):
        raise ValueError(_("The input must be a JSON object with region, person and claims."))

    def plain(node):
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        if isinstance(node, Decimal):
            return format(node, "f")
        return node

    return plain(payload)
