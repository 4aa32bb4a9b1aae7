"""Forms of the cases pages. They only shape input (and keep what was typed); the services judge
it and their messages are shown next to the fields."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from policies import categories as region_categories

from .models import (
    ClaimKind,
    HospitalLevel,
    Location,
    PayeeType,
    RecognitionMethod,
    Residence,
    Scheme,
)
from .services.values import clean_claim

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONEY = {"inputmode": "decimal", "autocomplete": "off", "class": "money-input"}


# --- Persons and identities ---------------------------------------------------------------------------


class PersonForm(forms.Form):
    """Register or correct a person. Sex and birth date are read from the identity number,
    never typed. When correcting, an empty identity number keeps the registered one."""

    id_number = forms.CharField(label=_("identity number"), max_length=30, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                              "class": "id-number-input"}))
    # Not required here: the service judges it, so that every problem is listed at once.
    name = forms.CharField(label=_("person's name"), max_length=60, required=False,
                           widget=forms.TextInput(attrs={"required": True}))
    region_code = forms.ChoiceField(label=_("region"))
    residence = forms.ChoiceField(label=_("residence"), choices=Residence.choices)
    scheme = forms.ChoiceField(label=_("insurance scheme"), choices=Scheme.choices)
    phone = forms.CharField(label=_("phone"), max_length=40, required=False)
    bank_name = forms.CharField(label=_("bank"), max_length=120, required=False)
    bank_account = forms.CharField(label=_("bank account"), max_length=60, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))
    account_holder = forms.CharField(label=_("account holder"), max_length=60, required=False,
                                     help_text=_("Empty: the person."))

    def __init__(self, *args, regions=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region_code"].choices = list(regions)
        self.editing = editing
        # A person a department's push registered without residence / scheme: 待核实 stays on offer
        # (keeping it) until a clerk picks the verified value.
        initial = kwargs.get("initial") or {}
        for field, choices in (("residence", Residence.choices), ("scheme", Scheme.choices)):
            if editing and initial.get(field) == "":
                self.fields[field].choices = [("", pgettext_lazy("person detail", "to be verified")), *choices]
                self.fields[field].required = False
        if editing:
            self.fields["id_number"].help_text = _("Leave empty to keep the registered number; type the corrected "
                                                   "number to change it.")
        else:
            self.fields["id_number"].required = True
            self.fields["id_number"].help_text = _("18 characters; sex and birth date are read from it.")


class IdentityForm(forms.Form):
    category = forms.ChoiceField(label=_("category"))
    start = forms.DateField(label=_("start"), widget=DATE)
    end = forms.DateField(label=_("end"), required=False, widget=DATE, help_text=_("Empty: still held."))
    reference = forms.CharField(label=_("document reference"), max_length=100, required=False)
    method = forms.ChoiceField(label=_("recognised by"))

    def __init__(self, *args, categories=None, methods=None, **kwargs):
        """``categories``: the codes offered (``policies.categories.categories_for`` the person's
        region), shown by their names."""
        super().__init__(*args, prefix="identity", **kwargs)
        codes = categories or [c.code for c in region_categories.NATIONAL]
        self.fields["category"].choices = [(c, region_categories.label(c)) for c in codes]
        method_labels = dict(RecognitionMethod.choices)
        methods = methods or [RecognitionMethod.EVIDENCE]
        self.fields["method"].choices = [(m, method_labels[m]) for m in methods]


class CloseIdentityForm(forms.Form):
    end = forms.DateField(label=_("end"), widget=DATE)
    reference = forms.CharField(label=_("document reference"), max_length=100, required=False)


# --- Claims ----------------------------------------------------------------------------------------


class ClaimForm(forms.Form):
    """A claim typed in from the hospital's settlement statement. Values are judged by the same
    rules as imports and the API (``cases.services.values.clean_claim``), with messages naming
    the field as the form labels it."""

    setl_id = forms.CharField(label=_("settlement id"), max_length=60, required=False,
                              help_text=_("The hospital's settlement number, if known (unique)."))
    date = forms.CharField(label=_("settlement date"), widget=DATE)
    kind = forms.ChoiceField(label=_("kind"), choices=ClaimKind.choices)
    hospital_name = forms.CharField(label=_("hospital"), max_length=120, required=False)
    hospital_code = forms.CharField(label=_("hospital code"), max_length=60, required=False)
    hospital_level = forms.ChoiceField(label=_("hospital level"), choices=HospitalLevel.choices, initial="1")
    location = forms.ChoiceField(label=_("where treated"), choices=Location.choices, initial=Location.COUNTY)
    special_disease = forms.BooleanField(label=_("special disease"), required=False)
    referral_compliant = forms.BooleanField(label=_("referral compliant"), required=False, initial=True)
    total = forms.CharField(label=_("total cost (T)"), widget=forms.TextInput(attrs=MONEY))
    policy_scope = forms.CharField(label=_("in policy scope (P)"), widget=forms.TextInput(attrs=MONEY))
    basic_paid = forms.CharField(label=_("basic insurance paid (B)"), required=False, widget=forms.TextInput(attrs=MONEY),
                                 help_text=_("Empty: computed by the policy."))
    critical_paid = forms.CharField(label=_("critical-illness insurance paid (C)"), required=False,
                                    widget=forms.TextInput(attrs=MONEY), help_text=_("Empty: computed by the policy."))
    maf_pay = forms.CharField(label=_("assistance paid at the hospital"), required=False,
                              widget=forms.TextInput(attrs=MONEY), initial="0.00")

    MONEY_FIELDS = ("total", "policy_scope", "basic_paid", "critical_paid", "maf_pay")

    def __init__(self, *args, computable: dict | None = None, **kwargs):
        """``computable``: what the region's policy can compute (``selectors.claim_amounts_computable``);
        "empty: computed by the policy" is said only of an amount it can."""
        super().__init__(*args, **kwargs)
        computable = computable or {}
        if not computable.get("basic"):
            self.fields["basic_paid"].help_text = _(
                "This region's policy has no basic-insurance rule: copy the amount from the hospital's settlement "
                "statement.")
        if not computable.get("critical"):
            self.fields["critical_paid"].help_text = _(
                "This region's policy cannot compute the critical-illness payment: copy the amount from the "
                "hospital's settlement statement.")

    def clean(self):
        data = super().clean()
        labels = {name: str(field.label) for name, field in self.fields.items()}
        values = {k: data.get(k) for k in self.fields}
        cleaned, errors = clean_claim(values, labels=labels)
        for field, messages in errors.items():
            for message in messages:
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
                elif field not in self.fields:
                    self.add_error(None, message)
        self.service_values = cleaned
        return data


# --- Applications -------------------------------------------------------------------------------------


class ApplicationForm(forms.Form):
    claim_ids = forms.MultipleChoiceField(label=_("claims"), required=False, widget=forms.CheckboxSelectMultiple)
    tilted_applied = forms.BooleanField(label=_("applies for tilted assistance (倾斜救助)"), required=False)
    payee_type = forms.ChoiceField(label=_("paid to"), choices=PayeeType.choices, widget=forms.RadioSelect,
                                   initial=PayeeType.PERSON)
    payee_name = forms.CharField(label=_("hospital payee"), max_length=120, required=False)
    payee_bank = forms.CharField(label=_("hospital's bank"), max_length=120, required=False)
    payee_account = forms.CharField(label=_("hospital's account"), max_length=60, required=False)
    agent_name = forms.CharField(label=_("agent (委托代办)"), max_length=60, required=False,
                                 help_text=_("Only when someone applies on the person's behalf."))
    agent_relation = forms.CharField(label=_("agent's relation"), max_length=40, required=False)
    agent_phone = forms.CharField(label=_("agent's phone"), max_length=40, required=False)
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    FIELDS = ("tilted_applied", "payee_type", "payee_name", "payee_bank", "payee_account", "agent_name",
              "agent_relation", "agent_phone", "note")

    def __init__(self, *args, claim_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["claim_ids"].choices = [(str(c.pk), c) for c in claim_choices]
        self.claims_by_id = {str(c.pk): c for c in claim_choices}

    def service_fields(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.FIELDS}


# --- Workflow ---------------------------------------------------------------------------------------


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=30)
    expected_state = forms.CharField(max_length=20, required=False)
    comment = forms.CharField(label=_("comment"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    # A code of the case region's categories (policies.categories); the workflow service checks it.
    category = forms.CharField(label=_("identity to confirm"), required=False, max_length=40)


class ReasonForm(forms.Form):
    """Return / reject: the reason is required (the service checks it too)."""

    comment = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"required": _("Give a reason.")})


# --- Imports and payments -------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label=_("file (CSV or Excel .xlsx)"),
                           help_text=_("Settlement records exported from the national platform, header in row 1."))
    again = forms.BooleanField(label=_("import it again if I imported this file before"), required=False,
                               help_text=_("For instance after registering the persons it lacked. Without it, the "
                                           "earlier import of the same file is shown."))


class IdsField(forms.Field):
    """A list of ids from checkboxes (``name=12&name=15``)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        out = []
        for item in value or []:
            if not str(item).isdigit():
                raise forms.ValidationError(_("Not a valid choice."))
            out.append(int(item))
        return out


class BatchForm(forms.Form):
    region = forms.ChoiceField(label=_("batch region"))
    application_ids = IdsField(required=False)
    adjustment_ids = IdsField(required=False)
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    request_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=[("selected", "selected"), ("all", "all")], initial="selected")

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = list(regions)
