"""Which version is in force when: the one rule publishing follows (and the what-if simulates).

Exactly one published version of a region (and, separately, one framework) is in force on any
date. Publishing a version that settles claims from ``E`` (its retroactive date, else its in-force
date) therefore:

- closes a version that started before ``E`` and is still in force on ``E``: it ends on ``E − 1``;
- supersedes a version that starts on ``E`` (or later) and ends inside the new version's period;
- ends the new version the day before a later published version starts, when no end was given.

It is refused when that is impossible without rewriting another version's start: the new start
falls inside an older version's retroactive period, or a later version would be cut in two.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    key: object
    label: str
    effective_from: datetime.date
    in_force_from: datetime.date
    in_force_to: datetime.date | None


@dataclass
class Plan:
    in_force_to: datetime.date | None
    close: list[tuple[object, datetime.date]] = field(default_factory=list)
    supersede: list[object] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    capped: bool = False


def plan_publication(
    existing: list[Period],
    *,
    effective_from: datetime.date,
    in_force_to: datetime.date | None,
) -> Plan:
    start = effective_from
    plan = Plan(in_force_to=in_force_to)
    for other in sorted(existing, key=lambda p: (p.effective_from, str(p.key))):
        other_end = other.in_force_to or datetime.date.max
        if other_end < start:
            continue
        end = plan.in_force_to or datetime.date.max
        if other.effective_from > end:
            continue
        if other.effective_from < start:
            new_end = start - ONE_DAY
            if new_end < other.in_force_from:
                plan.errors.append(
                    _(
                        "%(start)s falls inside the retroactive period of %(other)s (in force from %(from)s, "
                        "retroactive from %(retro)s); choose a start date after %(from)s."
                    )
                    % {"start": start, "other": other.label, "from": other.in_force_from, "retro": other.effective_from}
                )
            else:
                plan.close.append((other.key, new_end))
            continue
        # The other version starts on or after the new one.
        if other.effective_from > start and plan.in_force_to is None:
            plan.in_force_to = other.effective_from - ONE_DAY
            plan.capped = True
            continue
        if other_end <= end:
            plan.supersede.append(other.key)
        else:
            plan.errors.append(
                _(
                    "%(other)s is in force from %(from)s until %(to)s, beyond the new version's end %(end)s; "
                    "end the new version before %(from)s or leave its end open."
                )
                % {
                    "other": other.label,
                    "from": other.effective_from,
                    "to": other.in_force_to or pgettext("end of a period", "open"),
                    "end": end if end != datetime.date.max else pgettext("end of a period", "open"),
                }
            )
    return plan
