"""What the settlement does when the policies part tells it something (connected in ``apps.py``):
a published version or a changed statistic marks the person-years it can alter for recalculation
(``cases.services.recalc``)."""
from __future__ import annotations

import datetime
import logging

from django.db import transaction

log = logging.getLogger(__name__)


def on_version_published(sender, *, version, retroactive_from=None, **kwargs):
    """A policy version was published: every person-year of its region with a case and a claim on
    or after ``retroactive_from`` is recalculated (补发 / 追回 for approved cases)."""
    from .services.recalc import enqueue_pending, mark_region_from

    since = retroactive_from or getattr(version, "effective_from", None) or getattr(version, "in_force_from", None)
    if since is None:
        return
    document = getattr(version, "document_number", "") or ""
    with transaction.atomic():
        n = mark_region_from(region_code=version.region_id, since=since,
                             reason=f"policy:{version.region_id} {document}".strip())
        if n:
            enqueue_pending()
    log.info("version %s published: %d person-years to recalculate", document, n)


def on_statistic_changed(sender, *, statistic, previous=None, **kwargs):
    """A statistic was entered or changed: claims of the two following years may read it."""
    from .services.recalc import enqueue_pending, mark_region_from

    year = int(statistic.year)
    with transaction.atomic():
        n = mark_region_from(region_code=statistic.region_id, since=datetime.date(year + 1, 1, 1),
                             until_year=year + 2, reason=f"statistic:{statistic.region_id} {statistic.kind} {year}")
        if n:
            enqueue_pending()
