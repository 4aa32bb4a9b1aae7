"""Forms of the enrolment-subsidy pages: they only shape input; the services judge it."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.exchange.forms import RegionYearForm


class StandardForm(forms.Form):
    region = forms.ChoiceField(label=_("region"))
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)
    tier1_personal = forms.DecimalField(label=_("personal contribution, tier 1 (元)"), max_digits=14, decimal_places=2,
                                        min_value=0)
    tier2_personal = forms.DecimalField(label=_("personal contribution, tier 2 (元, if the region has tiers)"),
                                        max_digits=14, decimal_places=2, min_value=0, required=False)
    reference = forms.CharField(label=_("document reference"), max_length=100, required=False)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]


class ListForm(RegionYearForm):
    month = forms.IntegerField(label=_("month"), min_value=1, max_value=12)


class TierForm(forms.Form):
    id_number = forms.CharField(label=_("identity number"), max_length=30)
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)
    tier = forms.TypedChoiceField(label=_("tier"), coerce=int, choices=[(1, _("tier 1")), (2, _("tier 2"))])
