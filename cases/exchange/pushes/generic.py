"""The generic processing path (any database, SQLite included).

1. Stream the rows, check each row's columns in Python, stage them (``PushStagingRow``) in batches.
2. Mark repeated keys with one indexed query per window of rows.
3. In one transaction: walk the good rows in windows of ``WINDOW`` rows — two queries per window
   (persons, their periods) — decide each row, write in bulk, store the rejected rows, mark the
   person-years to recalculate, and finish the push.

Memory stays bounded by the window size whatever the file's size.
"""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from cases.models import Identity, Person, RecalcMark, RecognitionMethod

from ..models import ChangeAction, IdentityChange, PushRejectedRow, PushStagingRow
from . import rules
from .checks import (
    BACKDATE,
    CLOSE,
    CREATE,
    OPEN,
    REOPEN,
    UNCHANGED,
    Decision,
    Period,
    PushContext,
    RowChecker,
    affected_years,
    decide_existing,
    raw_values,
)
from .reading import RawRow

STAGE_BATCH = 2000
WINDOW = 2000


def stage(rows: Iterable[RawRow], ctx: PushContext, on_batch: Callable[[int], None]) -> int:
    """Check and stage every row; returns how many rows the file has."""
    PushStagingRow.objects.filter(push_id=ctx.push_id).delete()
    batch: list[PushStagingRow] = []
    count = 0
    check = RowChecker(ctx)
    for raw in rows:
        values, problems = check(raw)
        batch.append(PushStagingRow(
            push_id=ctx.push_id, row_no=raw[0], errors=problems or None,
            raw=raw_values(raw), **values,
        ))
        count += 1
        if len(batch) >= STAGE_BATCH:
            PushStagingRow.objects.bulk_create(batch)
            batch = []
            on_batch(count)
    if batch:
        PushStagingRow.objects.bulk_create(batch)
    on_batch(count)
    return count


def mark_repeats(ctx: PushContext) -> None:
    """A good row whose identity number and category an earlier good row already has is rejected."""
    staged = PushStagingRow.objects.filter(push_id=ctx.push_id)
    first = (staged.filter(id_number=OuterRef("id_number"), category=OuterRef("category"), errors__isnull=True)
             .order_by("row_no").values("row_no")[:1])
    last = staged.order_by("-row_no").values_list("row_no", flat=True).first() or 0
    lo = 0
    while lo <= last:
        hi = lo + WINDOW * 5
        repeats = list(
            staged.filter(row_no__gte=lo, row_no__lt=hi, errors__isnull=True)
            .annotate(first=Subquery(first)).filter(row_no__gt=F("first")).only("id", "row_no")
        )
        for row in repeats:
            row.errors = [rules.err("row", "duplicate", row=row.first)]
        PushStagingRow.objects.bulk_update(repeats, ["errors"], batch_size=1000)
        lo = hi


def _new_person(row: PushStagingRow) -> Person:
    number = row.id_number
    person = Person(
        id_number=number, name=row.name, sex="M" if int(number[16]) % 2 else "F",
        birth_date=rules.birth_date(number), region_id=row.region_code,
        # what the file says, else "" — 待核实, for a clerk to confirm (never an assumed 农村 / 城乡居民医保)
        residence=row.residence, scheme=row.scheme,
    )
    if hasattr(person, "id_mask_key"):  # what Person.save() keeps (bulk_create does not call it)
        person.id_mask_key = number[:4] + number[-4:]
    return person


def apply(ctx: PushContext, counters: dict, mark: Callable[[list[tuple[int, int, int]]], int]) -> None:
    """Decide and write every good row (call inside a transaction)."""
    staged = PushStagingRow.objects.filter(push_id=ctx.push_id)
    now = timezone.now()
    this_year = ctx.today.year
    after = 0
    while True:
        window = list(staged.filter(row_no__gt=after, errors__isnull=True).order_by("row_no")[:WINDOW])
        if not window:
            break
        after = window[-1].row_no
        numbers = {r.id_number for r in window}
        persons = {p.id_number: p for p in Person.objects.filter(id_number__in=numbers)
                   .only("id", "id_number", "name", "region_id")}
        periods: dict[tuple[int, str], list[Period]] = defaultdict(list)
        if persons:
            for ident in Identity.objects.filter(
                person_id__in=[p.id for p in persons.values()], category__in={r.category for r in window}
            ).only("id", "person_id", "category", "start", "end"):
                periods[(ident.person_id, ident.category)].append(Period(ident.id, ident.start, ident.end))

        rejected: list[PushStagingRow] = []
        to_open: list[tuple[PushStagingRow, Person | None]] = []
        backdate: list[tuple[PushStagingRow, Decision]] = []
        reopen: list[tuple[PushStagingRow, Decision]] = []
        close: list[tuple[PushStagingRow, Person]] = []
        created: dict[str, Person] = {}
        for row in window:
            # A person registered by an earlier row of this window counts as registered.
            person = persons.get(row.id_number) or created.get(row.id_number)
            decision: Decision
            if person is not None:
                if not person.region_id.startswith(ctx.prefix):
                    decision = Decision(problem=rules.err("region", "person_out_of_scope", region=person.region_id))
                elif row.name != rules.clean(person.name):
                    decision = Decision(problem=rules.err("name", "name_mismatch", name=row.name,
                                                          registered=rules.clean(person.name)))
                else:
                    decision = decide_existing(row.action, row.category, row.effective,
                                               periods.get((person.id, row.category), []) if person.id else [])
            elif row.action == "exit":
                decision = Decision(problem=rules.err("id_number", "person_unknown"))
            elif not row.region_code:
                decision = Decision(problem=rules.err("region", "region_needed"))
            else:
                person = _new_person(row)
                created[row.id_number] = person
                decision = Decision(CREATE)
            if decision.problem is not None:
                row.errors = [decision.problem]
                rejected.append(row)
                continue
            outcome = decision.outcome
            if outcome == UNCHANGED:
                counters["rows_unchanged"] += 1
            elif outcome in (OPEN, CREATE):
                to_open.append((row, person))
            elif outcome == BACKDATE:
                backdate.append((row, decision))
            elif outcome == REOPEN:
                reopen.append((row, decision))
            elif outcome == CLOSE:
                close.append((row, person))

        if created:
            Person.objects.bulk_create(list(created.values()))  # sets the ids (RETURNING)
            counters["persons_created"] += len(created)

        ranges: list[tuple[int, int, int]] = []
        changes: list[IdentityChange] = []
        if to_open:
            Identity.objects.bulk_create([
                Identity(person_id=person.id, category=row.category, start=row.effective, end=None,
                         department_id=ctx.department, method=RecognitionMethod.PUSHED, reference=row.reference,
                         source=ctx.source, created_by_id=ctx.user_id)
                for row, person in to_open
            ])
            counters["identities_opened"] += len(to_open)
            for row, person in to_open:
                years = affected_years(OPEN, row.effective, None, None, this_year)
                if years:
                    ranges.append((person.id, *years))
        if backdate:
            updates = []
            for row, d in backdate:
                updates.append(Identity(id=d.open_id, start=row.effective, updated_at=now))
                person_id = persons[row.id_number].id
                changes.append(IdentityChange(identity_id=d.open_id, person_id=person_id, action=ChangeAction.BACKDATED,
                                              old_start=d.old_start, new_start=row.effective,
                                              reference=row.reference, source=ctx.source))
                ranges.append((person_id, *affected_years(BACKDATE, row.effective, d.old_start, None, this_year)))
            Identity.objects.bulk_update(updates, ["start", "updated_at"], batch_size=500)
            counters["identities_backdated"] += len(backdate)
        if reopen:
            updates = []
            for row, d in reopen:
                new_start = min(d.old_start, row.effective)
                updates.append(Identity(id=d.open_id, start=new_start, end=None, updated_at=now))
                person_id = persons[row.id_number].id
                changes.append(IdentityChange(identity_id=d.open_id, person_id=person_id, action=ChangeAction.REOPENED,
                                              old_start=d.old_start, old_end=d.old_end, new_start=new_start,
                                              reference=row.reference, source=ctx.source))
                years = affected_years(REOPEN, row.effective, d.old_start, d.old_end, this_year)
                if years:
                    ranges.append((person_id, *years))
            Identity.objects.bulk_update(updates, ["start", "end", "updated_at"], batch_size=500)
            counters["identities_reopened"] += len(reopen)
        if close:
            updates = []
            for row, person in close:
                for p in periods.get((person.id, row.category), []):
                    if p.end is None:
                        updates.append(Identity(id=p.id, end=row.effective, updated_at=now))
                        changes.append(IdentityChange(identity_id=p.id, person_id=person.id,
                                                      action=ChangeAction.CLOSED, old_start=p.start,
                                                      new_start=p.start, new_end=row.effective,
                                                      reference=row.reference, source=ctx.source))
                years = affected_years(CLOSE, row.effective, None, None, this_year)
                if years:
                    ranges.append((person.id, *years))
            Identity.objects.bulk_update(updates, ["end", "updated_at"], batch_size=500)
            counters["identities_closed"] += len(close)
        if changes:
            IdentityChange.objects.bulk_create(changes)
        if rejected:
            PushStagingRow.objects.bulk_update(rejected, ["errors"], batch_size=1000)
        if ranges:
            mark(ranges)


def store_rejected(ctx: PushContext) -> int:
    """Copy every rejected row into the push's report; returns how many."""
    staged = PushStagingRow.objects.filter(push_id=ctx.push_id, errors__isnull=False).order_by("row_no")
    total = 0
    after = 0
    while True:
        window = list(staged.filter(row_no__gt=after)[:WINDOW])
        if not window:
            break
        after = window[-1].row_no
        PushRejectedRow.objects.bulk_create([
            PushRejectedRow(push_id=ctx.push_id, row_no=r.row_no, id_number=r.raw[0], name=r.raw[1],
                            category=r.raw[2], action=r.raw[3], effective=r.raw[4], reference=r.raw[5],
                            region_code=r.raw[6], errors=r.errors)
            for r in window
        ])
        total += len(window)
    return total


def process(rows: Iterable[RawRow], ctx: PushContext, counters: dict, *, on_progress, mark, finish) -> None:
    """Run the whole generic path; ``finish(counters)`` is called inside the applying transaction."""
    total = stage(rows, ctx, lambda n: on_progress("reading", n))
    counters["rows_total"] = total
    on_progress("validating", total)
    mark_repeats(ctx)
    on_progress("applying", total)
    try:
        with transaction.atomic():
            apply(ctx, counters, mark)
            counters["rows_rejected"] = store_rejected(ctx)
            counters["person_years_marked"] = RecalcMark.objects.filter(reason=ctx.source).count()
            finish(counters)
    finally:
        PushStagingRow.objects.filter(push_id=ctx.push_id).delete()


def today_local() -> datetime.date:
    return timezone.localdate()
