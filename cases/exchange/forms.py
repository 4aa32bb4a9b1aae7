"""Forms of the exchange pages: they only shape input; the services judge it."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.roles.domain import DepartmentCode

# ISO dates: <input type="date"> accepts only YYYY-MM-DD (Chinese locale formats give 2025/01/01,
# which the browser drops, so the field arrived blank).
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def required(message) -> dict:
    """The portal's own message for a missing value (forms are sent with ``novalidate``)."""
    return {"required": message}


class PushForm(forms.Form):
    department = forms.ChoiceField(label=_("department"))
    region = forms.ChoiceField(label=_("region"))
    file = forms.FileField(label=_("file (CSV or Excel .xlsx)"),
                           help_text=_("CSV in UTF-8, GBK or GB18030, or an Excel workbook; the first row holds the "
                                       "column names."))

    def __init__(self, *args, departments=(), regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(DepartmentCode.choices)
        self.fields["department"].choices = [(d, labels.get(d, d)) for d in departments]
        self.fields["region"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]
        if len(self.fields["department"].choices) == 1:
            self.fields["department"].initial = self.fields["department"].choices[0][0]
        if len(self.fields["region"].choices) == 1:
            self.fields["region"].initial = self.fields["region"].choices[0][0]


class AskForm(forms.Form):
    category = forms.ChoiceField(label=_("identity to confirm"),
                                 error_messages=required(_("Choose the identity the department should confirm.")))
    claimed_start = forms.DateField(label=_("claimed since"), widget=DATE,
                                    error_messages={**required(_("Enter the date the identity is claimed from.")),
                                                    "invalid": _("Enter the date as YYYY-MM-DD.")})
    note = forms.CharField(label=_("note for the department"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, region_code: str | None = None, **kwargs):
        """``region_code``: the case's region, whose categories (the national list and those its
        policy defines, ``policies.categories``) are offered."""
        super().__init__(*args, **kwargs)
        from policies.categories import NATIONAL, categories_for

        labels = dict(DepartmentCode.choices)
        known = categories_for(region_code) if region_code else NATIONAL
        # No silent default: the view proposes the identity the applicant claims, else one is chosen.
        self.fields["category"].choices = [("", _("— choose the identity —"))] + [
            (c.code, f"{c.label} — {labels.get(c.department, c.department)}") for c in known
            if c.department != DepartmentCode.MEDICAL_SECURITY]


class ConfirmForm(forms.Form):
    reference = forms.CharField(label=_("document reference (文号)"), max_length=100,
                                error_messages=required(_("Enter the document reference (文号) of the recognition.")))
    confirmed_start = forms.DateField(label=_("held since"), widget=DATE,
                                      error_messages={**required(_("Enter the date the identity is held from.")),
                                                      "invalid": _("Enter the date as YYYY-MM-DD.")})
    confirmed_end = forms.DateField(label=_("held until (leave empty if still held)"), widget=DATE, required=False,
                                    error_messages={"invalid": _("Enter the date as YYYY-MM-DD.")})
    note = forms.CharField(label=_("note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("why the identity is not confirmed"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages=required(_("Say why the identity is not confirmed.")))


class RegionYearForm(forms.Form):
    region = forms.ChoiceField(label=_("region"))
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]
