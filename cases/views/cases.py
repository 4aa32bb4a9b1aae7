"""Cases: opening and editing an application, the case page (settlement, timeline, adjustments,
payments and only the actions the user may take now), transitions, and the 一单制 slip."""
from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from policies import categories
from portal.permissions import permission_required
from portal.roles.domain import DepartmentCode, Role
from portal.web import refusals

from .. import selectors
from ..access import CASE_READ_ROLES, CASEWORK_ROLES, PAYMENT_READ_ROLES, hidden_person_fields, holds, holds_anywhere
from ..forms import ApplicationForm, ReasonForm, TransitionForm
from ..models import EDITABLE_STATES, PayeeType
from ..models import ApplicationState as S
from ..services import applications, assignment, workflow
from .common import found

REASON_ACTIONS = ("return", "reject")
#: Answered on the exchange's confirmation page (which records the department's answer), not here.
EXCHANGE_ACTIONS = ("identity_answered",)
#: Who may open a case page; what they see is decided by ``selectors.case_detail`` (liaisons: the
#: cases waiting for their department).
CASE_VIEW_ROLES = CASE_READ_ROLES | {Role.LIAISON}


# --- Opening and editing ------------------------------------------------------------------------------


def _years(claims) -> list[int]:
    this_year = timezone.localdate().year
    return sorted({c.date.year for c in claims} | {this_year}, reverse=True)


@permission_required("cases.do_casework")
def application_new(request, pk: int):
    """Open a case for a person and a year: pick the year's claims no open case holds, the tilted
    assistance flag, the payee and an agent (委托代办)."""
    user = request.user
    person = found(selectors.person_detail, user, pk).person
    if not holds(user, CASEWORK_ROLES, person.region_id):
        raise PermissionDenied(_("Cases are opened by the caseworkers of the person's region."))
    free = list(selectors.claims_for_person(user, person.pk, unattached=True))
    years = _years(free)
    raw_year = request.POST.get("year") or request.GET.get("year")
    year = int(raw_year) if raw_year and raw_year.isdigit() else (max(c.date.year for c in free) if free else years[0])
    choices = [c for c in free if c.date.year == year]
    form = ApplicationForm(request.POST if request.method == "POST" else None, claim_choices=choices,
                           initial={"claim_ids": [str(c.pk) for c in choices]})
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            app = applications.create_application(
                acting_user=user, person_id=person.pk, year=year,
                claim_ids=[int(c) for c in form.cleaned_data["claim_ids"]], **form.service_fields())
        if outcome.ok:
            messages.success(request, _("Case %(number)s is opened as a draft; the settlement is being calculated.")
                             % {"number": app.number})
            return redirect("cases:case", app.pk)
    return render(request, "cases/application_form.html", {
        "form": form, "person": person, "app": None, "year": year, "years": years,
        "free_years": sorted({c.date.year for c in free}, reverse=True),
    }, status=400 if form.errors else 200)


@permission_required("cases.do_casework")
def application_edit(request, pk: int):
    """Change a draft or returned case: its claims, tilted flag, payee, agent and note."""
    user = request.user
    app = found(selectors.get_application, user, pk)
    if not holds(user, CASEWORK_ROLES, app.region_id):
        raise PermissionDenied(_("Cases are changed by the caseworkers of the case's region."))
    if app.state not in EDITABLE_STATES:
        messages.error(request, _("Case %(number)s is “%(state)s”; it can be changed only as a draft or when returned "
                                  "for correction.") % {"number": app.number, "state": app.get_state_display()})
        return redirect("cases:case", app.pk)
    attached = list(selectors.claims_of_application(app))
    free = list(selectors.claims_for_person(user, app.person_id, year=app.year, unattached=True))
    choices = sorted({c.pk: c for c in attached + free}.values(), key=lambda c: (c.date, c.pk))
    initial = {f: getattr(app, f) for f in ApplicationForm.FIELDS}
    initial["claim_ids"] = [str(c.pk) for c in attached]
    form = ApplicationForm(request.POST if request.method == "POST" else None, claim_choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        wanted = {int(c) for c in form.cleaned_data["claim_ids"]}
        have = {c.pk for c in attached}
        with refusals(form) as outcome:
            with transaction.atomic():
                applications.update_application(acting_user=user, application_id=app.pk, **form.service_fields())
                if wanted - have:
                    applications.add_claims(acting_user=user, application_id=app.pk, claim_ids=sorted(wanted - have))
                if have - wanted:
                    applications.remove_claims(acting_user=user, application_id=app.pk, claim_ids=sorted(have - wanted))
        if outcome.ok:
            messages.success(request, _("Case %(number)s is saved; the settlement is recalculated.") % {"number": app.number})
            return redirect("cases:case", app.pk)
    return render(request, "cases/application_form.html", {
        "form": form, "person": app.person, "app": app, "year": app.year, "years": [app.year], "free_years": [],
    }, status=400 if form.errors else 200)


# --- The case page --------------------------------------------------------------------------------------


def _settlement_context(detail) -> dict:
    from policies.selectors import route_labels

    app = detail.application
    settlement = detail.settlement
    refused = bool(settlement is not None and not detail.settlement_ready and settlement.refused
                   and settlement.revision == app.calc_revision)
    calculating = not detail.settlement_ready and not refused
    labels = {}
    if detail.lines:
        try:
            labels = route_labels(region_code=app.region_id)
        except Exception:  # a label is a nicety: the route's code is shown instead
            labels = {}
    own, others = [], []
    for line in detail.lines:
        line.category_label = categories.label(line.category)
        line.route_label = labels.get((line.policy, line.route, line.category), line.route)
        (own if line.in_application else others).append(line)
    return {
        "detail": detail,
        "app": app,
        "settlement": settlement,
        "own_lines": own,
        "other_lines": others,
        "calculating": calculating,
        "refused": refused,
        # The engine's refusals in the reader's language (policies.messages), never its English.
        "refusals": settlement.refusals() if refused else [],
        "zero_tilted_reasons": [] if calculating or refused else selectors.zero_tilted_reasons(app, settlement, detail.lines),
    }


def _ask_department_categories(region_code: str):
    """The region's categories a department confirms (not those the bureau records itself)."""
    return categories.choices_for(region_code, exclude_department=DepartmentCode.MEDICAL_SECURITY)


def assignment_panel(user, app):
    from .assignment import panel

    return panel(user, app)


def _render_case(request, pk: int, *, reason_forms=None, transition_form=None, status=200, just_acted=False):
    user = request.user
    detail = found(selectors.case_detail, user, pk, just_acted=just_acted)
    app = detail.application
    allowed = detail.allowed_actions
    reason_forms = reason_forms or {}
    simple = [(a, workflow.ACTION_LABELS[a]) for a in allowed
              if a not in REASON_ACTIONS and a not in EXCHANGE_ACTIONS and a != "ask_department"]
    with_reason = [(a, workflow.ACTION_LABELS[a], reason_forms.get(a) or ReasonForm(prefix=a))
                   for a in allowed if a in REASON_ACTIONS]
    for event in detail.events:
        event.action_label = workflow.ACTION_LABELS.get(event.action) or assignment.EVENT_LABELS.get(event.action,
                                                                                                     event.action)
    context = _settlement_context(detail)
    context.update({
        "person": detail.person,
        "simple_actions": simple,
        "reason_actions": with_reason,
        "can_ask_department": "ask_department" in allowed,
        "answers_identity": any(a in EXCHANGE_ACTIONS for a in allowed),
        "unavailable": [(workflow.ACTION_LABELS[a], why) for a, why in workflow.unavailable_actions(user, app)],
        "ask_categories": _ask_department_categories(app.region_id),
        "transition_form": transition_form or TransitionForm(),
        "can_edit": app.state in EDITABLE_STATES and holds(user, CASEWORK_ROLES, app.region_id),
        "can_see_batches": holds(user, PAYMENT_READ_ROLES, app.region_id),
        # cases.access.PERSON_FIELD_ROLES: liaisons answering a request see no account or phone
        "hide_contact": bool(hidden_person_fields(user, app.region_id)),
        "can_list_cases": holds_anywhere(user, CASE_READ_ROLES),
        "claims_total": sum((c.total for c in detail.claims), 0),
        "return_reason": selectors.return_reason(detail.events) if app.state == S.RETURNED else None,
        "year_claims": selectors.year_claims_of_case(app),
        "assignment": assignment_panel(user, app),  # 分办转办 (views/assignment.py)
    })
    return render(request, "cases/case_detail.html", context, status=status)


@permission_required("cases.view_case")
def case_detail(request, pk: int):
    return _render_case(request, pk)


@permission_required("cases.view_case")
def case_settlement(request, pk: int):
    """The settlement block alone: polled by htmx while the calculation runs; once it is done the
    page reloads (its actions and amounts depend on it)."""
    detail = found(selectors.case_detail, request.user, pk)
    context = _settlement_context(detail)
    response = render(request, "cases/_settlement.html", context)
    if request.htmx and request.GET.get("waiting") and not context["calculating"]:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@permission_required("cases.view_case")
def case_act(request, pk: int):
    """Take one of the allowed actions. Refusals are shown, never a 500: a missing reason next to
    the reason box, anything else (someone moved the case first, four eyes, data missing) as a
    message on the case page."""
    user = request.user
    app = found(selectors.get_application, user, pk)
    form = TransitionForm(request.POST)
    action = request.POST.get("action", "")
    if action not in workflow.TRANSITIONS or not form.is_valid():
        messages.error(request, _("Unknown action “%(action)s”.") % {"action": action})
        return redirect("cases:case", app.pk)
    data = form.cleaned_data
    comment = data["comment"]
    reason_form = None
    if action in REASON_ACTIONS:
        reason_form = ReasonForm(request.POST, prefix=action)
        if not reason_form.is_valid():
            return _render_case(request, app.pk, reason_forms={action: reason_form}, status=400)
        comment = reason_form.cleaned_data["comment"].strip()
    # A reason the action needs goes next to the reason's box; every other refusal above the case.
    with refusals(request=request) as outcome:
        moved = workflow.transition(
            acting_user=user, application_id=app.pk, action=action, comment=comment,
            expected_state=data["expected_state"] or None, category=data["category"] or None,
        )
    if not outcome.ok:
        if isinstance(outcome.error, workflow.ReasonRequired) and reason_form is not None:
            reason_form.add_error("comment", outcome.messages[0])
            return _render_case(request, app.pk, reason_forms={action: reason_form}, status=400)
        return redirect("cases:case", app.pk)
    messages.success(request, _("%(action)s: case %(number)s is now “%(state)s”.") % {
        "action": workflow.ACTION_LABELS[action], "number": moved.number, "state": moved.get_state_display()})
    return redirect("cases:case", app.pk)


# --- The slip -------------------------------------------------------------------------------------------


@permission_required("cases.view_case")
def slip(request, pk: int):
    """The one-page settlement slip (一单制), printable on A4; the numbers are the stored settlement's."""
    user = request.user
    app = found(selectors.get_application, user, pk)
    with refusals() as outcome:
        data = selectors.slip_data(user, app.pk)
    if not outcome.ok:  # not settled yet (409); not found is the 404 page
        return render(request, "cases/slip.html", {"app": app, "problem": outcome.messages[0]}, status=outcome.status)
    detail = found(selectors.case_detail, user, app.pk)
    full = detail.application
    for row in data["claims"]:
        row["category_label"] = categories.label(row["category"])
    totals = data["totals"]
    return render(request, "cases/slip.html", {
        "app": full,
        "slip": data,
        "totals": totals,
        "assistance_total": totals["assistance"] + totals["tilted"],
        "printed_at": timezone.localtime(),
        "reviewed_at": _event_time(detail.events, "pass"),
        "approved_at": full.approved_at,
        "submitted_at": full.submitted_at,
        "payee": _payee_label(full),
    })


def _event_time(events, action) -> datetime.datetime | None:
    times = [e.at for e in events if e.action == action]
    return times[-1] if times else None


def _payee_label(app) -> str:
    if app.payee_type == PayeeType.HOSPITAL:
        return f"{app.payee_name}（{app.payee_bank}）"
    person = app.person
    holder = person.account_holder or person.name
    return f"{holder}（{person.bank_name}）" if person.bank_name else holder
