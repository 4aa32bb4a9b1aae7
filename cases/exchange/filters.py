"""The filters of the exchange part's lists (django-filter), one ``FilterSet`` per list, shared by
the page and the API viewset (``DjangoFilterBackend``, so the OpenAPI schema documents them). Each
filters a queryset its selector has already scoped (``portal.roles.scoping``). See
``cases.filters`` for the shared ground (search box, region, Chinese refusals)."""
from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from cases.filters import RegionFilter, ScopedFilterSet, SearchFilter
from portal.roles.domain import DepartmentCode

from .models import IdentityPush, PushStatus


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
