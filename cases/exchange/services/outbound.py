"""Outbound lists for the departments, and the record of each delivery.

* Warning lists (因病返贫 / 因病致贫) for 民政 and 乡村振兴 of a region.
* Subsidised-enrolment lists (added / exited / changed) for 财政 and 税务.

A department needs the full identity number to act on a row, so a delivered file or API answer
carries it; every delivery is recorded (:class:`~cases.exchange.models.OutboundDelivery`: what, to
which department, when, by whom or with which API token) and every person in it is logged as a
full-number view (``cases.services.persons.log_id_number_views``). Screens show masks only.
"""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cases.enrolment.models import SubsidyList
from portal.roles.domain import DepartmentCode, Role
from portal.roles.scoping import in_scope

from ..errors import Invalid, NotPermitted
from ..models import SUBSIDY_RECIPIENTS, WARNING_RECIPIENTS, Channel, DeliveryKind, OutboundDelivery

RECEIVERS = {DeliveryKind.WARNINGS: WARNING_RECIPIENTS, DeliveryKind.SUBSIDY_LIST: SUBSIDY_RECIPIENTS}


def recipient_for(user, kind: str, region_code: str, requested: str | None = None) -> str:
    """The department a download goes to: the liaison's own (of the departments that receive this
    list), or — for bureau staff handing it over — the department they name."""
    allowed = [str(d) for d in RECEIVERS[kind]]
    own = [d for d in allowed if in_scope(user, region_code, roles=[Role.LIAISON], department=d)]
    if requested:
        if requested not in allowed:
            raise Invalid(_("This list is for: %(who)s.") % {
                "who": "、".join(str(DepartmentCode(d).label) for d in allowed)}, field="department")
        # Auditors are not among those who hand lists over: they change nothing, not even the
        # delivery record (issue 13).
        if requested in own or user.is_superuser or in_scope(
                user, region_code, roles=(Role.POLICY_ADMIN, Role.REVIEWER, Role.APPROVER)):
            return requested
        raise NotPermitted(_("You may not hand this list to that department."))
    if len(own) == 1:
        return own[0]
    if own:
        raise Invalid(_("Say which department the list is for."), field="department")
    raise Invalid(_("Say which department the list is for."), field="department")


def record(*, acting_user, kind: str, department: str, region_code: str, period: str, file_format: str,
           channel: str, person_ids: list[int], api_token_hint: str = "",
           subsidy_list: SubsidyList | None = None) -> OutboundDelivery:
    """Record one delivery and the full-number views of the people in it."""
    from cases.services.persons import log_id_number_views

    with transaction.atomic():
        delivery = OutboundDelivery.objects.create(
            kind=kind, department_id=department, region_id=region_code, period=period[:20], file_format=file_format,
            channel=channel, rows=len(person_ids), subsidy_list=subsidy_list, delivered_by=acting_user,
            api_token_hint=api_token_hint[:12],
        )
        if person_ids and acting_user is not None:
            log_id_number_views(acting_user=acting_user, person_ids=person_ids,
                                context=f"{DeliveryKind(kind).label} #{delivery.pk} → {department}",
                                reason=_("outbound list for the department"))
    return delivery


# --- rows ---------------------------------------------------------------------------------------

WARNING_HEADERS = ("身份证号码", "姓名", "行政区划", "年度", "预警类型", "越线日期", "预警标准", "年度自付累计", "政策文件",
                   "处置结果", "处置说明")
SUBSIDY_HEADERS = ("身份证号码", "姓名", "行政区划", "变动", "资助类别", "原资助类别", "档次", "个人缴费标准", "资助金额",
                   "原资助金额", "政策文件", "条款", "说明")


def warning_rows(warnings) -> list[list]:
    rows = []
    for w in warnings:
        rows.append([w.person.id_number, w.person.name, w.region_id, w.year, w.get_kind_display(), w.claim_date,
                     w.threshold, w.out_of_pocket, w.document, w.get_outcome_display() if w.outcome else "",
                     w.outcome_note])
    return rows


def subsidy_rows(items) -> list[list]:
    rows = []
    for i in items:
        rows.append([i.person.id_number, i.person.name, i.person.region_id, i.get_change_display(),
                     i.get_category_display() if i.category else "",
                     i.get_previous_category_display() if i.previous_category else "", i.tier,
                     i.personal_contribution, i.amount, i.previous_amount, i.document, i.clause, i.problem])
    return rows


def channel_of(request) -> tuple[str, str]:
    """(channel, token hint) of a request: the API with a token, else the browser."""
    auth = getattr(request, "auth", None)
    key = getattr(auth, "key", None)
    if key:
        return Channel.API, key[:8]
    return Channel.DOWNLOAD, ""


def warnings_queryset_for_delivery(qs):
    return qs.select_related("person").order_by("region_id", "kind", "claim_date", "id")

