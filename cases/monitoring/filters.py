"""The warning list's filter (pages and API), applied after the selector's region scoping."""
from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from cases.filters import IntegerFilter, RegionFilter, ScopedFilterSet, SearchFilter

from .models import MonitoringWarning, WarningKind, WarningOutcome

WARNING_STATES = [("open", _("open")), *WarningOutcome.choices]


class WarningFilter(ScopedFilterSet):
    q = SearchFilter(method="filter_q", label=_("identity number or name"),
                     help_text=_("Masked number (3607**********123X), its last 4–6 characters, or part of a name"))
    year = IntegerFilter(field_name="year", label=_("year"), min_value=2000, max_value=2100)
    kind = django_filters.ChoiceFilter(choices=WarningKind.choices, label=_("kind"))
    state = django_filters.ChoiceFilter(choices=WARNING_STATES, method="filter_state", label=_("outcome"),
                                        help_text=_("open, or an outcome"))
    region = RegionFilter(label=_("region"), help_text=_("Region code (and below)"))
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("raised since"),
                                      help_text=_("raised on or after this date (YYYY-MM-DD)"))

    class Meta:
        model = MonitoringWarning
        fields = ["q", "year", "kind", "state", "region", "since"]

    def filter_q(self, qs, name, value):
        from cases.selectors import person_search_q

        cond = person_search_q(value)
        if cond is None:
            return qs
        from cases.models import Person

        return qs.filter(person__in=Person.objects.filter(cond).values("pk"))

    def filter_state(self, qs, name, value):
        if value == "open":
            return qs.filter(outcome="")
        return qs.filter(outcome=value) if value else qs
