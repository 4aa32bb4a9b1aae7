"""Processing one push from start to finish (what the Celery task runs).

The request only stored the file: here its encoding is detected (and recorded on the push), its
header read — a file that cannot be read, or lacks required columns, ends as a failed push whose
``failure`` says why — and every row checked.

Idempotent and safe to run twice: a finished push is left alone; a push whose worker died is
started again from its stored file (the applying step is one transaction, so a half-applied push
cannot exist). The PostgreSQL fast path is used on PostgreSQL, the generic path elsewhere.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.regions.codes import level_of, scope_prefix
from portal.regions.models import Region

from ..models import IdentityPush, PushPhase, PushStatus
from . import generic
from .checks import PushContext
from .reading import Progress, PushFileError, detect_encoding, open_rows

log = logging.getLogger(__name__)

# Progress of each phase on the bar (percent at the phase's start, percent at its end).
PHASES = {
    PushPhase.READING: (0, 60),
    PushPhase.VALIDATING: (60, 75),
    PushPhase.APPLYING: (75, 99),
}
COUNTERS = (
    "rows_total", "rows_rejected", "rows_unchanged", "persons_created", "identities_opened", "identities_backdated",
    "identities_reopened", "identities_closed", "person_years_marked",
)


def context_for(push: IdentityPush) -> PushContext:
    from policies import categories

    region = push.region_id
    known = categories.categories_for(region, below=True)
    return PushContext(
        push_id=push.pk,
        department=push.department_id,
        prefix=scope_prefix(region),
        default_region=region if level_of(region) == "county" else "",
        today=timezone.localdate(),
        regions=frozenset(Region.objects.values_list("code", flat=True)),
        user_id=push.created_by_id,
        categories=categories.push_lookup(known),
        owners={c.code: c.department for c in known},
    )


class Reporter:
    """Writes the phase and percentage for the progress bar, at most twice a second."""

    def __init__(self, push_id: int, progress: Progress):
        self.push_id = push_id
        self.progress = progress
        self.last = 0.0

    def __call__(self, phase: str, rows: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.5 and phase == PushPhase.READING:
            return
        self.last = now
        lo, hi = PHASES.get(phase, (99, 99))
        if phase == PushPhase.READING:
            share = self.progress.share()
            percent = lo + int((hi - lo) * share)
        else:
            percent = lo
        IdentityPush.objects.filter(pk=self.push_id).update(phase=phase, progress=percent, rows_total=rows)


def use_fast_path(force_generic: bool = False) -> bool:
    return settings.IS_POSTGRES and not force_generic and not getattr(settings, "EXCHANGE_PUSH_GENERIC_ONLY", False)


def run(push_id: int, *, force_generic: bool = False) -> IdentityPush | None:
    push = IdentityPush.objects.filter(pk=push_id).select_related("department", "region").first()
    if push is None or push.status == PushStatus.DONE:
        return push
    claimed = IdentityPush.objects.filter(pk=push_id).exclude(status=PushStatus.DONE).update(
        status=PushStatus.PROCESSING, phase=PushPhase.READING, progress=0, started_at=timezone.now(), failure="",
    )
    if not claimed:
        return push
    ctx = context_for(push)
    counters: dict[str, int] = defaultdict(int)
    progress = Progress()
    report = Reporter(push.pk, progress)
    fast = use_fast_path(force_generic)

    def finish(c: dict) -> None:
        from cases.services.recalc import enqueue_pending

        values = {k: c.get(k, 0) for k in COUNTERS}
        IdentityPush.objects.filter(pk=push.pk).update(
            status=PushStatus.DONE, phase=PushPhase.FINISHED, progress=100, finished_at=timezone.now(),
            engine="postgres" if fast else "generic", **values,
        )
        if values["person_years_marked"]:
            enqueue_pending()

    try:
        with push.file.open("rb") as fileobj:
            if push.file_format == "csv" and not push.encoding:  # the request stored the file unread
                push.encoding = detect_encoding(fileobj)
                IdentityPush.objects.filter(pk=push.pk).update(encoding=push.encoding)
            rows = open_rows(fileobj, push.file_format, push.encoding, progress)
            if fast:
                from . import postgres

                postgres.process(rows, ctx, counters, on_progress=report, finish=finish)
            else:
                generic.process(rows, ctx, counters, on_progress=report, mark=_marker(ctx), finish=finish)
    except PushFileError as exc:
        _fail(push.pk, str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded for the sender, then re-raised for the worker log
        log.exception("identity push %s failed", push.pk)
        _fail(push.pk, f"{type(exc).__name__}: {exc}")
        raise
    return IdentityPush.objects.get(pk=push.pk)


def _marker(ctx: PushContext):
    from cases.services.recalc import mark_person_years

    def mark(ranges):
        return mark_person_years(ranges=ranges, reason=ctx.source)

    return mark


def _fail(push_id: int, message: str) -> None:
    with transaction.atomic():
        IdentityPush.objects.filter(pk=push_id).exclude(status=PushStatus.DONE).update(
            status=PushStatus.FAILED, phase=PushPhase.FINISHED, finished_at=timezone.now(), failure=message[:2000],
        )
