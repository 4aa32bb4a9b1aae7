"""What the publish form shows before a version is published (reads only): how many person-years
its retroactivity will have recalculated, and the fund-impact simulation of the draft when one has
been run (``policies.models.PolicySimulation`` / ``selectors.latest_simulation``, once they exist)."""
from __future__ import annotations

import datetime

from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from portal.regions.codes import scope_prefix

from .models import PolicyVersion

SIMULATION_TEMPLATE = "policies/_simulation_summary.html"


def person_years_from(*, region_code: str, since: datetime.date) -> int:
    """Person-years of the region (and below) with a case and a claim dated on or after ``since`` —
    the ones publishing recalculates (``cases.services.recalc.mark_region_from`` marks
    exactly these)."""
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import ExtractYear

    from cases.models import Application, Claim

    claims = (Claim.objects.filter(person_id=OuterRef("person_id"), date__gte=since)
              .annotate(y=ExtractYear("date")).filter(y=OuterRef("year")))
    return (Application.objects.filter(region__code__startswith=scope_prefix(region_code), year__gte=since.year)
            .filter(Exists(claims)).values("person_id", "year").distinct().count())


def claims_from(*, region_code: str, since: datetime.date) -> int:
    """Claims dated on or after ``since`` of persons with a case in the region (and below)."""
    from cases.models import Application, Claim

    persons = Application.objects.filter(region__code__startswith=scope_prefix(region_code)).values("person_id")
    return Claim.objects.filter(person_id__in=persons, date__gte=since).count()


def recalculation_since(*, in_force_from: datetime.date | None, retroactive_from: datetime.date | None):
    """The first claim date a publication with these dates recalculates (the earlier of the two)."""
    if in_force_from is None:
        return None
    if retroactive_from is not None and retroactive_from < in_force_from:
        return retroactive_from
    return in_force_from


def simulation_template_exists() -> bool:
    try:
        get_template(SIMULATION_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


def latest_simulation(version: PolicyVersion):
    """The newest simulation run for ``version``, or None (also while simulations do not exist)."""
    from . import selectors

    finder = getattr(selectors, "latest_simulation", None)
    if finder is None:
        return None
    try:
        return finder(version)
    except Exception:  # noqa: BLE001 — a simulation that cannot be read is not shown; publishing goes on
        return None


def simulation_of(version: PolicyVersion, simulation_id) -> int | None:
    """``simulation_id`` when it is a simulation of ``version`` (the one the form showed), else None."""
    if simulation_id in (None, ""):
        return None
    try:
        pk = int(simulation_id)
    except (TypeError, ValueError):
        return None
    from django.apps import apps

    try:
        model = apps.get_model("policies", "PolicySimulation")
    except LookupError:
        return None
    field_names = {f.name for f in model._meta.get_fields()}
    query = model.objects.filter(pk=pk)
    if "version" in field_names:
        query = query.filter(version_id=version.pk)
    return pk if query.exists() else None
