"""Template helpers of the payment parts shown on other pages (the person page's record of
bank-account changes)."""
from django import template
from django.utils.translation import gettext as _

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


@register.simple_tag
def adjustment_reason(adjustment):
    """The reason of a 补发 / 追回 in words (which change, which identity, which clause)."""
    from ..services import adjustments

    return adjustments.reason_text(adjustment)


@register.simple_tag
def adjustment_status(adjustment):
    """A 补发's review state while it waits, a recovery's state as a receivable, else its status."""
    from ..models import AdjustmentStatus
    from ..services import adjustments, recoveries

    if adjustment.kind == "recovery" and adjustment.status != AdjustmentStatus.CANCELLED:
        left = recoveries.outstanding(adjustment)
        if left <= 0:
            return _("recovered")
        return _("owed back: %(amount)s") % {"amount": f"{left:,.2f}"}
    if adjustment.kind == "supplementary" and adjustment.status == AdjustmentStatus.PENDING:
        return adjustments.state_label(adjustment)
    return adjustment.get_status_display()


@register.simple_tag(takes_context=True)
def case_money(context, application):
    """What the case paid, what is owed back and what has been recovered (``selectors.case_money``)."""
    request = context.get("request")
    if request is None or application is None:
        return None
    return selectors.case_money(request.user, application.pk)
