"""The filters of the cases part's lists (django-filter), one ``FilterSet`` per list, shared by the
page and the API viewset (``DjangoFilterBackend``, so the OpenAPI schema documents the parameters).

Each FilterSet filters a queryset that its selector has already scoped to the user's regions
(``portal.roles.scoping``); it only narrows it. A value that is not valid is refused with a Chinese
message naming the field (the API answers 400; a page shows the message and ignores that field).

A full identity number is never taken from a URL (issue 13: URLs end up in access logs): the
``q`` search refuses it unless the FilterSet is made with ``full_number_ok=True``, which the pages
do only for a number posted in the search box (``cases.views.common.search_data``) and the API
only for ``POST /api/v1/persons/search/``.
"""
from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.roles.scoping import region_q

from . import identity_numbers
from .models import ApplicationState, BatchStatus, PaymentLineKind, PaymentLineStatus, Person

#: what looks like a whole identity number (15-digit old cards included), never searched from a URL
FULL_LIKE = re.compile(r"^[0-9]{14,17}[0-9X]$")
FULL_NUMBER_MESSAGE = _("A full identity number is not searched from a web address, where logs would keep it: type it "
                        "into the search box (it is sent by POST), or search by its last 4–6 digits.")
REGION_CODE = re.compile(r"^[0-9]{6}$")
MAX_ID = 2**63 - 1


def looks_like_full_number(text: str) -> bool:
    return bool(FULL_LIKE.match(identity_numbers.normalise(text or "")))


class SearchField(forms.CharField):
    """The search box: text up to 60 characters; a full identity number only when allowed."""

    def __init__(self, *args, allow_full: bool = False, **kwargs):
        self.allow_full = allow_full
        kwargs.setdefault("max_length", 60)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if "\x00" in (value or ""):
            raise ValidationError(_("The search contains a character that cannot be searched."), code="invalid")
        if value and not self.allow_full and looks_like_full_number(value):
            raise ValidationError(FULL_NUMBER_MESSAGE, code="full_number")
        return value


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class RegionField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value and not REGION_CODE.match(value):
            raise ValidationError(_("A region code has six digits, e.g. 360702."), code="invalid")
        return value


class RegionFilter(django_filters.CharFilter):
    """A region code: rows of that region and below (the 行政区划 prefix)."""

    field_class = RegionField

    def __init__(self, *args, region_field: str = "region", **kwargs):
        self.region_field = region_field
        super().__init__(*args, method=self._filter, **kwargs)

    def _filter(self, qs, name, value):
        if not value:
            return qs
        from portal.regions.codes import scope_prefix

        return qs.filter(region_q([scope_prefix(value)], field=self.region_field))


class ScopedFilterSet(django_filters.FilterSet):
    """Common ground: ``full_number_ok`` for the search box; ``regions`` (the user's regions as
    ``(code, label)``) turns the region filter into a picker on the page."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, full_number_ok: bool = False,
                 regions=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        if "q" in self.filters:
            self.filters["q"].extra["allow_full"] = full_number_ok
        if regions is not None and "region" in self.filters:
            self.filters["region"].extra["widget"] = forms.Select(
                choices=[("", _("all my regions")), *regions])

    @property
    def cleaned(self) -> dict:
        """The valid filter values (an invalid field is left out, and its message shown)."""
        self.is_valid()
        return {k: v for k, v in getattr(self.form, "cleaned_data", {}).items() if v not in (None, "", [], ())}


# --- Persons ------------------------------------------------------------------------------------------


def person_condition(text: str) -> Q | None:
    from .selectors import person_search_q

    return person_search_q(text)


class PersonFilter(ScopedFilterSet):
    q = SearchFilter(method="filter_q", label=_("identity number (full or masked) or name"),
                     help_text=_("Masked number (3607**********123X), its last 4–6 characters, or part of a name"))
    region = RegionFilter(label=_("region"), help_text=_("Region code (and below)"))
    details = django_filters.ChoiceFilter(
        method="filter_details", label=_("residence and scheme"),
        choices=[("unverified", pgettext_lazy("person detail", "to be verified")), ("verified", _("verified"))],
        help_text=_("Persons registered by a department's push whose residence or insurance scheme is still to be "
                    "verified"))

    class Meta:
        model = Person
        fields = ["q", "region", "details"]

    def filter_q(self, qs, name, value):
        cond = person_condition(value)
        return qs.filter(cond) if cond is not None else qs

    def filter_details(self, qs, name, value):
        from .models import UNVERIFIED

        unverified = Q(residence=UNVERIFIED) | Q(scheme=UNVERIFIED)
        if value == "unverified":
            return qs.filter(unverified)
        if value == "verified":
            return qs.exclude(unverified)
        return qs


# --- Cases --------------------------------------------------------------------------------------------


class CaseFilter(ScopedFilterSet):
    q = SearchFilter(method="filter_q", label=_("case number, identity number or name"),
                     help_text=_("Case number, masked identity number, its last 4–6 characters, or part of a name"))
    state = django_filters.MultipleChoiceFilter(choices=ApplicationState.choices, label=_("state"),
                                                help_text=_("State(s)"))
    region = RegionFilter(label=_("region"), help_text=_("Region code (and below)"))
    year = IntegerFilter(field_name="year", label=_("year"), min_value=2000, max_value=2100)
    person = IntegerFilter(field_name="person_id", label=_("person"), min_value=1, max_value=MAX_ID,
                           help_text=_("Person id"))

    class Meta:
        from .models import Application

        model = Application
        fields = ["q", "state", "region", "year", "person"]

    def filter_q(self, qs, name, value):
        from .selectors import case_search_q

        return qs.filter(case_search_q(value))


# --- Payments -----------------------------------------------------------------------------------------


class PaymentLineFilter(ScopedFilterSet):
    q = SearchFilter(method="filter_q", label=_("case number, identity number or name"),
                     help_text=_("Case number, masked identity number, its last 4–6 characters, or part of a name"))
    status = django_filters.ChoiceFilter(choices=PaymentLineStatus.choices, label=_("status"))
    kind = django_filters.ChoiceFilter(choices=PaymentLineKind.choices, label=_("kind"))
    batch_status = django_filters.ChoiceFilter(field_name="batch__status", choices=BatchStatus.choices,
                                               label=_("batch status"))
    region = RegionFilter(label=_("region"), region_field="batch__region", help_text=_("Region code (and below)"))
    year = IntegerFilter(field_name="application__year", label=_("year"), min_value=2000, max_value=2100)

    class Meta:
        from .models import PaymentLine

        model = PaymentLine
        fields = ["q", "status", "kind", "batch_status", "region", "year"]

    def filter_q(self, qs, name, value):
        from .models import Application
        from .selectors import case_search_q

        return qs.filter(application__in=Application.objects.filter(case_search_q(value)).values("pk"))


class BatchFilter(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=BatchStatus.choices, label=_("status"))
    region = RegionFilter(label=_("region"), help_text=_("Region code (and below)"))

    class Meta:
        from .models import PaymentBatch

        model = PaymentBatch
        fields = ["status", "region"]
