"""What each role can do, as shown on the home page and in the navigation.

Apps register their entries in ``AppConfig.ready()``::

    from portal.roles.menu import MenuItem, register
    register(MenuItem(permission="cases.review_case", label=_("To review"), url_name="cases:queue",
                      query="queue=to_review"))

An entry is shown to the users its ``permission`` (``portal.permissions``, declared once for the
menu, the pages and the API) allows; superusers see all.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuItem:
    permission: str
    label: str
    url_name: str
    description: str = ""
    query: str = ""
    group: str = ""
    order: int = 100
    # How many things wait for this user here (e.g. an inbox); shown as a badge on the home page.
    count: Callable | None = field(default=None, compare=False)

    def url(self) -> str | None:
        try:
            base = reverse(self.url_name)
        except NoReverseMatch:
            return None
        return f"{base}?{self.query}" if self.query else base


_REGISTRY: list[MenuItem] = []


def register(*items: MenuItem) -> None:
    from portal.permissions import PERMISSIONS

    for item in items:
        if item.permission not in PERMISSIONS:
            raise KeyError(f"menu entry {item.label!r}: unknown permission {item.permission!r}")
        if item not in _REGISTRY:
            _REGISTRY.append(item)


def unregister(*items: MenuItem) -> None:
    """Take entries out again (an app that registers entries for a while, e.g. a test)."""
    for item in items:
        if item in _REGISTRY:
            _REGISTRY.remove(item)


def items_for(user, *, with_counts: bool = False) -> list[dict]:
    """Entries the user may use; ``with_counts`` also asks each entry how much waits (home page only)."""
    from portal.permissions import allowed

    if not user.is_authenticated:
        return []
    out = []
    for item in sorted(_REGISTRY, key=lambda i: (i.order, str(i.label))):
        if not allowed(user, item.permission):
            continue
        url = item.url()
        if url is None:
            continue
        count = item.count(user) if with_counts and item.count is not None else None
        out.append({"label": item.label, "url": url, "description": item.description, "group": item.group, "count": count})
    return out
