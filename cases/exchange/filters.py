"""The filters of the exchange part's lists (django-filter), one ``FilterSet`` per list, shared by
the page and the API viewset (``DjangoFilterBackend``, so the OpenAPI schema documents them). Each
filters a queryset its selector has already scoped (``portal.roles.scoping``). See
``cases.filters`` for the shared ground (search box, region, Chinese refusals)."""
from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from cases.filters import IntegerFilter, RegionFilter, ScopedFilterSet, SearchFilter
from portal.roles.domain import DepartmentCode

from .models import IdentityPush, MonitoringWarning, PushStatus, WarningKind, WarningOutcome


class PushFilter(ScopedFilterSet):
    q = SearchFilter(field_name="original_name", lookup_expr="contains", label=_("file name"),
                     help_text=_("Part of the file name"))
    status = django_filters.ChoiceFilter(choices=PushStatus.choices, label=_("status"))
    department = django_filters.ChoiceFilter(field_name="department_id", label=_("department"),
                                             choices=[(str(d), d.label) for d in DepartmentCode])
    region = RegionFilter(label=_("region"), help_text=_("Region code (and below)"))

    class Meta:
        model = IdentityPush
        fields = ["q", "status", "department", "region"]


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
