"""Forms of the policy pages. They only shape input; the services validate and write."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import StatisticKind

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VersionDetailsForm(forms.Form):
    document_number = forms.CharField(label=_("document number"), max_length=100)
    title = forms.CharField(label=_("title"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))
    in_force_from = forms.DateField(label=_("in force from (planned)"), widget=DATE_WIDGET)
    in_force_to = forms.DateField(label=_("in force until (planned)"), required=False, widget=DATE_WIDGET)
    retroactive_from = forms.DateField(label=_("retroactive from (planned)"), required=False, widget=DATE_WIDGET)


class PublishForm(forms.Form):
    """Publishing a draft: its final dates, empty at first (the planned ones are shown beside), and
    the document number typed to confirm. ``simulation`` is the simulation the form showed."""

    in_force_from = forms.DateField(
        label=_("in force from"), required=False, widget=DATE_WIDGET,
    )
    retroactive_from = forms.DateField(
        label=_("retroactive from"), required=False, widget=DATE_WIDGET,
    )
    in_force_to = forms.DateField(
        label=_("in force until"), required=False, widget=DATE_WIDGET,
        help_text=_("Leave empty: in force until a later version replaces it."),
    )
    confirm_document = forms.CharField(
        label=_("type the document number to confirm"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 30}),
    )
    simulation = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def clean(self):
        data = super().clean()
        start, end, retro = data.get("in_force_from"), data.get("in_force_to"), data.get("retroactive_from")
        if not start and "in_force_from" not in self.errors:
            self.add_error("in_force_from", _("The in-force date is required."))
        if start and end and end < start:
            self.add_error("in_force_to", _("The end date is before the in-force date."))
        if start and retro and retro > start:
            self.add_error("retroactive_from", _("The retroactive date is after the in-force date."))
        return data


class StatisticForm(forms.Form):
    region = forms.ChoiceField(label=_("region"))
    kind = forms.ChoiceField(label=_("statistic"), choices=StatisticKind.choices)
    year = forms.IntegerField(label=_("year of the figure"), min_value=1990, max_value=2100)
    value = forms.DecimalField(label=_("value (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    source = forms.CharField(
        label=_("source"), max_length=300, widget=forms.TextInput(attrs={"size": 50}),
        help_text=_("e.g. the statistics bureau's bulletin and its date"),
    )

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, str(r)) for r in regions]


class PolicyFileForm(forms.Form):
    region = forms.ChoiceField(label=_("region"), required=False)
    file = forms.FileField(label=_("policy file (JSON)"), help_text=_("At most 2 MB; see docs/policy-file.md."))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("the region named in the file"))] + [(r.code, str(r)) for r in regions]


class NewVersionForm(forms.Form):
    region = forms.ChoiceField(label=_("region"))
    start = forms.ChoiceField(label=_("start from"))
    document_number = forms.CharField(label=_("document number"), max_length=100,
                                      widget=forms.TextInput(attrs={"placeholder": "示例市医保规〔2023〕1号"}))
    title = forms.CharField(label=_("title"), max_length=300, widget=forms.TextInput(attrs={"size": 50}))
    in_force_from = forms.DateField(label=_("in force from (planned)"), widget=DATE_WIDGET)

    def __init__(self, *args, regions=(), frameworks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, str(r)) for r in regions]
        self.fields["start"].choices = [("blank", _("a blank version"))] + [
            (str(fw.pk), _("the framework %(document)s of %(region)s") % {"document": fw.document_number, "region": fw.region.name})
            for fw in frameworks]
