"""What every cases page shares: role gates, keyset pagination, turning service refusals into
form errors or messages, and the region pickers.

Pages are refused with 403 to users holding none of the roles a page is for, and answer 404 for
anything outside the user's regions (the selectors do not find it), so nothing leaks.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404

from portal import lists
from portal import web as _web
from portal.roles.scoping import scoped_regions

from ..services.errors import NotFound, ServiceError

PAGE_SIZE = lists.PAGE_SIZE


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


def keyset_page(request, qs: QuerySet, *, ordering: str = "-id", size: int = PAGE_SIZE) -> lists.ListPage:
    """The page of ``qs`` (ordered by ``ordering``, ``id`` or ``-id``) after ``?after=<id>`` or
    before ``?before=<id>``: :func:`portal.lists.keyset_page`, the one keyset pager."""
    return lists.keyset_page(request.GET, qs, descending=ordering.startswith("-"), size=size)


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


# --- Searches that may carry a full identity number ---------------------------------------------------
#
# A full identity number never travels in a URL (issue 13: URLs end up in access logs and browser
# histories). The list pages' search forms post; :func:`search_redirect` turns the post into a GET of
# the list, replacing a full number by an opaque token kept in the session (``?qt=…``), and
# :func:`search_data` turns the token back into the number for the page's filter.

SEARCH_TOKENS = "list_search_tokens"
SEARCH_TOKENS_KEPT = 20


@dataclass
class SearchData:
    data: object  # QueryDict for the FilterSet
    full_number_ok: bool
    shown_q: str  # what the search box shows (a mask for a full number)
    expired: bool = False


def search_redirect(request, url: str):
    """The list at ``url`` as a GET of the posted search; a full number becomes a session token."""
    import secrets
    from urllib.parse import urlencode

    from django.shortcuts import redirect

    from .. import identity_numbers
    from ..filters import looks_like_full_number

    params = []
    for key, values in request.POST.lists():
        if key in ("csrfmiddlewaretoken", "page", "after", "before", "qt"):
            continue
        for value in values:
            value = str(value).strip()
            if not value:
                continue
            if looks_like_full_number(value):
                if key != "q":
                    continue  # a full number elsewhere is dropped, never put in the URL
                token = secrets.token_urlsafe(12)
                tokens = dict(request.session.get(SEARCH_TOKENS) or {})
                tokens[token] = identity_numbers.normalise(value)
                while len(tokens) > SEARCH_TOKENS_KEPT:
                    tokens.pop(next(iter(tokens)))
                request.session[SEARCH_TOKENS] = tokens
                params.append(("qt", token))
            else:
                params.append((key, value))
    return redirect(f"{url}?{urlencode(params)}" if params else url)


def search_data(request) -> SearchData:
    """The request's query for a list's FilterSet, with ``?qt=`` turned back into the number."""
    from .. import identity_numbers

    data = request.GET.copy()
    tokens = data.pop("qt", None)
    if tokens:
        number = (request.session.get(SEARCH_TOKENS) or {}).get(tokens[-1])
        if number:
            data["q"] = number
            return SearchData(data=data, full_number_ok=True, shown_q=identity_numbers.mask(number))
        return SearchData(data=data, full_number_ok=False, shown_q="", expired=True)
    return SearchData(data=data, full_number_ok=False, shown_q=data.get("q", ""))

