"""The policy-book cache of ``services.book_for``, kept apart from the engine so that the app can
connect its invalidation at start-up without importing anything heavy.

Entries carry the *generation* they were built at: the highest ``PolicyChange`` id. Every service
write records a change, so a book built before another process published a version is rebuilt on
the next settlement; saves and deletes in this process clear the cache at once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from decimal import Decimal

SIZE = 128
_lock = threading.Lock()
_caches: dict[str, OrderedDict] = {"sources": OrderedDict(), "books": OrderedDict()}


def generation() -> int:
    from django.db.models import Max

    from .models import PolicyChange

    return PolicyChange.objects.aggregate(m=Max("id"))["m"] or 0


def get(cache: str, key, current: int):
    with _lock:
        hit = _caches[cache].get(key)
        if hit is not None and hit[0] == current:
            _caches[cache].move_to_end(key)
            return hit[1]
    return None


def put(cache: str, key, current: int, value) -> None:
    with _lock:
        entries = _caches[cache]
        entries[key] = (current, value)
        entries.move_to_end(key)
        while len(entries) > SIZE:
            entries.popitem(last=False)


def forget(**_kwargs) -> None:
    from . import categories

    with _lock:
        for entries in _caches.values():
            entries.clear()
    categories.forget()


def statistics_key(statistics: dict | None):
    if statistics is None:
        return None
    return tuple(
        sorted((str(kind), tuple(sorted((int(y), str(Decimal(str(v)))) for y, v in years.items())))
               for kind, years in statistics.items())
    )


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from .models import PolicyVersion, Statistic

    for model in (PolicyVersion, Statistic):
        post_save.connect(forget, sender=model, dispatch_uid=f"policies-bookcache-save-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"policies-bookcache-delete-{model.__name__}")
