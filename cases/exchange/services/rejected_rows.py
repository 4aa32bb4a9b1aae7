"""Showing a push's rejected rows: every value masked where it looks like an identity number (valid
or not, in any column: a malformed number is still someone's number), and every view recorded in
the full-number view log (``IdNumberView`` with the push and no person: who, when, which push,
where) — the page, the API and the download alike (issue 13)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from cases.identity_numbers import mask, mask_in_text
from cases.models import IdNumberView

from ..models import IdentityPush, PushRejectedRow
from ..pushes import rules

#: The text columns of a rejected row, as sent.
TEXT_COLUMNS = ("name", "category", "action", "effective", "reference", "region_code")


def masked_values(row: PushRejectedRow) -> dict:
    """The row's columns as they may be shown: the identity-number column masked whatever it holds,
    every other column with number-like runs masked."""
    values = {"row_no": row.row_no, "id_number": mask(rules.normalise_id(row.id_number))}
    for name in TEXT_COLUMNS:
        values[name] = mask_in_text(getattr(row, name))
    return values


def problems(row: PushRejectedRow) -> list[dict]:
    """``[{"field", "label", "code", "message"}]`` with number-like text in the messages masked."""
    return [{"field": e["field"], "label": str(rules.FIELD_LABELS.get(e["field"], e["field"])), "code": e["code"],
             "message": mask_in_text(rules.message(e))} for e in row.errors]


def describe(row: PushRejectedRow) -> str:
    return mask_in_text(rules.describe(row.errors))


def log_view(*, acting_user, push: IdentityPush, channel: str, where: str) -> IdNumberView:
    """Record that ``acting_user`` saw the rejected rows of ``push`` (``channel``: screen, api or
    export; ``where``: the page, API path or file)."""
    context = _("Rejected rows of identity push #%(id)s (%(where)s)") % {"id": push.pk, "where": where}
    return IdNumberView.objects.create(user=acting_user, person=None, push=push, channel=channel,
                                       context=context[:200], reason=_("checking the rows a department sent"))
