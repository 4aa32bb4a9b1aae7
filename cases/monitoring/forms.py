"""Forms of the monitoring pages (a run's region and year: ``cases.exchange.forms.RegionYearForm``)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import WarningOutcome


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("what was done"), choices=WarningOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
