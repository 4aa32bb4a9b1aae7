"""Template helpers of the payment parts shown on other pages (the person page's record of
bank-account changes)."""
from django import template

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def bank_account_changes(context, person):
    """The person's bank-account changes for the signed-in user (``None`` when the user's role does
    not read them: see ``selectors.BANK_CHANGE_READ_ROLES``)."""
    request = context.get("request")
    if request is None or person is None:
        return None
    return selectors.bank_account_changes(request.user, person.pk)
