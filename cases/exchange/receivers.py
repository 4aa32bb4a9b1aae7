"""What the exchange does when other parts tell it something (connected in ``apps.py``)."""
from __future__ import annotations

import datetime
import logging

from django.db import transaction

log = logging.getLogger(__name__)


def on_transition(sender, *, application_id, action, actor_id=None, comment="", category="", **kwargs):
    """A case was sent to a department through the cases part's own action: open its request."""
    if action != "ask_department":
        return
    from .services.confirmations import open_from_transition

    open_from_transition(application_id=application_id, category=category, actor_id=actor_id, comment=comment)


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
