"""Signals the policies part sends, after the transaction that caused them has committed.

``version_published(sender=PolicyVersion, version=..., retroactive_from=...)``
    A version was published. ``retroactive_from`` is the first claim date whose settlement may have
    changed (the version's retroactive date, else its in-force date): person-years with claims on
    or after it should be recalculated. Connected by the exchange part (recalculation, 补发).

``statistic_changed(sender=Statistic, statistic=..., previous=...)``
    A statistic was entered (``previous`` None) or changed (``previous`` the old Decimal value).
    Settlements of claims of ``statistic.year + 1`` and ``+ 2`` in the region and below may read it.
"""
from django.dispatch import Signal

version_published = Signal()
statistic_changed = Signal()
