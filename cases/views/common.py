"""What every cases page shares: role gates, keyset pagination, turning service refusals into
form errors or messages, and the region pickers.

Pages are refused with 403 to users holding none of the roles a page is for, and answer 404 for
anything outside the user's regions (the selectors do not find it), so nothing leaks.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from portal import web as _web
from portal.roles.scoping import scoped_regions

from ..access import holds_anywhere
from ..services.errors import NotFound, ServiceError

PAGE_SIZE = 50


def roles_required(roles, message: str | None = None):
    """Signed in and holding one of ``roles`` somewhere (superusers pass); otherwise 403."""

    roles = frozenset(roles)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not holds_anywhere(request.user, roles):
                raise PermissionDenied(message or _("This page is not for your role."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def found(call, *args, **kwargs):
    """Call a selector; ``NotFound`` (missing or outside the user's regions) becomes a 404."""
    try:
        return call(*args, **kwargs)
    except NotFound as exc:
        raise Http404(str(exc)) from None


# One helper for every page: portal.web (refusals, refuse, errors_to_form).
refuse = _web.refuse
errors_to_form = _web.errors_to_form


def flash_refusal(request, exc: ServiceError) -> None:
    messages.error(request, exc.message)


# --- Keyset pagination ------------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of a list ordered by ``id`` or ``-id``: the rows, and the ids to go on from.
    No COUNT(*): the page only knows whether there is more in each direction."""

    rows: list
    next_after: int | None
    prev_before: int | None

    @property
    def has_next(self) -> bool:
        return self.next_after is not None

    @property
    def has_previous(self) -> bool:
        return self.prev_before is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __bool__(self):
        return bool(self.rows)


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def keyset_page(request, qs: QuerySet, *, ordering: str = "-id", size: int = PAGE_SIZE) -> KeysetPage:
    """The page of ``qs`` (ordered by ``ordering``, ``id`` or ``-id``) after ``?after=<id>`` or
    before ``?before=<id>``; ``size + 1`` rows are read to know whether more follow."""
    descending = ordering.startswith("-")
    after, before = _int(request.GET.get("after")), _int(request.GET.get("before"))
    if before is not None:
        # Going back: read the other way from the boundary, then restore the order.
        cond = {"id__gt": before} if descending else {"id__lt": before}
        back = list(qs.filter(**cond).order_by("id" if descending else "-id")[: size + 1])
        more_before = len(back) > size
        rows = list(reversed(back[:size]))
        return KeysetPage(
            rows=rows,
            next_after=rows[-1].pk if rows else None,
            prev_before=rows[0].pk if rows and more_before else None,
        )
    if after is not None:
        qs = qs.filter(**({"id__lt": after} if descending else {"id__gt": after}))
    rows = list(qs.order_by(ordering)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        next_after=rows[-1].pk if rows and more else None,
        prev_before=rows[0].pk if rows and after is not None else None,
    )


# --- Regions ---------------------------------------------------------------------------------------


def region_choices(user, roles) -> list[tuple[str, str]]:
    """The regions a user covers with ``roles``, as ``(code, name)`` for a picker, broadest first."""
    regions = scoped_regions(user, roles=list(roles)).order_by("code")
    out = []
    for region in regions:
        indent = "" if region.code.endswith("00") else "\u3000"
        out.append((region.code, f"{indent}{region.name}（{region.code}）"))
    return out


def clean_region(value: str, choices: list[tuple[str, str]]) -> str | None:
    codes = {code for code, _label in choices}
    value = (value or "").strip()
    return value if value in codes else None
