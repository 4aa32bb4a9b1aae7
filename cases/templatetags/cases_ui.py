"""Template helpers of the cases pages: money as people read it, state badges, the amount in
Chinese capitals for the slip, and links that keep the current filters."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import cn2an
from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from portal.templatetags.portal_ui import money as portal_money
from portal.templatetags.portal_ui import to_cents

from ..labels import state_label
from ..models import ApplicationState as S

register = template.Library()

CENT = Decimal("0.01")

STATE_BADGES = {
    S.DRAFT: "badge-muted", S.SUBMITTED: "", S.IN_REVIEW: "", S.AWAITING_IDENTITY: "badge-warn",
    S.REVIEWED: "", S.APPROVED: "badge-ok", S.IN_PAYMENT: "badge-ok", S.PAID: "badge-ok",
    S.RETURNED: "badge-warn", S.REJECTED: "badge-danger", S.WITHDRAWN: "badge-muted",
}


def _decimal(value) -> Decimal | None:
    return to_cents(value)


#: the portal's one money format (portal.templatetags.portal_ui), also under {% load cases_ui %}
money = register.filter("money", portal_money)


@register.filter
def money_owed_back(value) -> str:
    """A negative amount (what is owed back) as the positive amount people read: ``-6097`` → ``6,097.00``."""
    amount = _decimal(value)
    return portal_money(-amount) if amount is not None and amount < 0 else portal_money(value)


@register.filter
def money_plain(value) -> str:
    """``12345.60`` (no separators): for data attributes and inputs."""
    amount = _decimal(value)
    return "" if amount is None else f"{amount:.2f}"


@register.simple_tag
def state_badge(app_or_state, label=None):
    state = getattr(app_or_state, "state", app_or_state)
    if label is None:
        label = state_label(state)
    css = STATE_BADGES.get(state, "")
    return format_html('<span class="badge state-{} {}">{}</span>', state, css, label)


@register.filter
def rmb_upper(value) -> str:
    """The amount in Chinese financial capitals (人民币大写), as payment slips print it:
    ``9000.00`` → ``玖仟元整``, ``4480.50`` → ``肆仟肆佰捌拾元伍角`` (cn2an's ``rmb`` mode)."""
    amount = _decimal(value)
    if amount is None:
        return ""
    return cn2an.an2cn(f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}", "rmb")


@register.simple_tag(takes_context=True)
def page_url(context, **changes):
    """The current URL's query with ``changes`` applied (``None`` drops a key); for keyset links
    ``after``/``before`` replace each other."""
    request = context["request"]
    query = request.GET.copy()
    if "after" in changes or "before" in changes:
        query.pop("after", None)
        query.pop("before", None)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def category_label(code) -> str:
    """A category's name: the national list's or the one a region's policy gives its own."""
    from policies.categories import label

    return label(code) if code else ""


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.simple_tag
def yes_no(value):
    return _("yes") if value else _("no")
