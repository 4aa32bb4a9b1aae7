"""Forms of the reporting pages: they only shape input; the services judge it."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BudgetForm(forms.Form):
    region = forms.ChoiceField(label=_("region"))
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)
    amount = forms.DecimalField(label=_("assistance budget (元)"), max_digits=14, decimal_places=2, min_value=0)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]
