"""Pages of the exchange part. Thin: forms shape input, services write, selectors read."""
from __future__ import annotations

import datetime
import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods

from cases.enrolment import selectors as enrolment_selectors
from cases.monitoring import selectors as monitoring_selectors
from portal import exports, lists, uploads
from portal.lists import Column, Sorting
from portal.permissions import allowed, permission_required
from portal.regions.codes import contains
from portal.roles.scoping import scoped_regions
from portal.web import refusals

from . import selectors
from .filters import PushFilter
from .forms import (
    AskForm,
    ConfirmForm,
    PushForm,
    RejectForm,
)
from .models import (
    ConfirmationStatus,
    PushStatus,
)
from .pushes import rules
from .pushes.reading import ENCODING_LABELS
from .services import confirmations, pushes, rejected_rows

PAGE = 50


# ---------------------------------------------------------------------------------------------
# Start page
# ---------------------------------------------------------------------------------------------


@permission_required("exchange.use_exchange")
def home(request):
    user = request.user
    context = {
        "pushing": pushes.pushing_departments(user),
        "open_confirmations": selectors.open_confirmation_count(user),
        "open_warnings": monitoring_selectors.warnings_for(user).filter(outcome="").count(),
        "can_handle_warnings": monitoring_selectors.can_handle_warnings(user),
        "lists": enrolment_selectors.subsidy_lists_for(user)[:5],
        "recent_pushes": selectors.pushes_for(user)[:5],
    }
    return render(request, "exchange/home.html", context)


# ---------------------------------------------------------------------------------------------
# Inbound pushes
# ---------------------------------------------------------------------------------------------


#: the push list's sortable columns; id breaks ties
PUSH_SORTING = Sorting([
    Column("id", "#", ("id",)),
    Column("department", gettext_lazy("department"), ("department_id",)),
    Column("region", gettext_lazy("region"), ("region_id",)),
    Column("received", gettext_lazy("received"), ("created_at",)),
    Column("status", gettext_lazy("status"), ("status",)),
    Column("rows", gettext_lazy("rows"), ("rows_total",)),
    Column("rejected", gettext_lazy("rejected rows"), ("rows_rejected",)),
], default=("-id",))


def _push_filter(request):
    """The push list's filter over the pushes the user may see (scoping first, then the filter)."""
    return PushFilter(request.GET, queryset=selectors.pushes_for(request.user), request=request)


@permission_required("exchange.view_pushes")
def push_list(request):
    filterset = _push_filter(request)
    listing = lists.listing(request, filterset.qs, sorting=PUSH_SORTING, export_url=reverse("exchange:push_export"))
    return render(request, "exchange/push_list.html", {
        "form": filterset.form, "listing": listing, "page": listing.page, "statuses": PushStatus.choices,
        "status": request.GET.get("status") or "",
        "can_push": bool(pushes.pushing_departments(request.user)),
    }, status=400 if filterset.form.errors else 200)


@permission_required("exchange.view_pushes")
def push_export(request):
    """The push list of the current filter as an Excel file, recorded in the export log."""
    filterset = _push_filter(request)
    back = f"{reverse('exchange:push_list')}?{request.GET.urlencode()}"
    if not filterset.is_valid():
        return redirect(back)
    headers = ["#", _("department"), _("region"), _("file"), _("received"), _("by"), _("status"), _("rows"),
               pgettext("push rows", "added"), pgettext("push rows", "changed"), pgettext("push rows", "unchanged"),
               _("rejected rows")]

    def row(p):
        return [p.pk, p.department.name, p.region.name, p.original_name,
                timezone.localtime(p.created_at).replace(tzinfo=None), p.created_by.display_name if p.created_by else
                (f"API {p.api_token_hint}" if p.api_token_hint else ""), p.get_status_display(), p.rows_total,
                p.rows_added, p.rows_changed, p.rows_unchanged, p.rows_rejected]

    try:
        return lists.export(request, filterset.qs, list_name="pushes", sorting=PUSH_SORTING, headers=headers, row=row,
                            title=_("Identity pushes"), filters=lists.describe_filters(filterset.cleaned))
    except lists.TooManyRows as exc:
        messages.error(request, _("The list holds %(n)s rows; an export takes at most %(limit)s. Narrow the filter.")
                       % {"n": exc.count, "limit": lists.EXPORT_LIMIT})
        return redirect(back)


@permission_required("exchange.upload_push")
@require_http_methods(["GET", "POST"])
def push_new(request):
    user = request.user
    departments = pushes.pushing_departments(user)
    if not departments:
        messages.error(request, _("Only department liaisons push identity lists."))
        return redirect("exchange:push_list")
    department = request.POST.get("department") or request.GET.get("department") or departments[0]
    if department not in departments:
        department = departments[0]
    regions = list(pushes.push_regions(user, department)) if not user.is_superuser else \
        list(scoped_regions(user).order_by("code"))
    form = PushForm(request.POST or None, request.FILES or None, departments=departments, regions=regions,
                    initial={"department": department})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with refusals(form) as outcome:
            push, created = pushes.receive_file(
                acting_user=user, department=form.cleaned_data["department"], region_code=form.cleaned_data["region"],
                fileobj=upload, filename=upload.name)
        if outcome.ok:
            if not created:
                messages.warning(request, _(
                    "This file was already received on %(time)s (push #%(id)s); it is not applied again.") % {
                    "time": timezone.localtime(push.created_at).strftime("%Y-%m-%d %H:%M"), "id": push.pk})
            return redirect("exchange:push_detail", push.pk)
    return render(request, "exchange/push_new.html", {
        "form": form, "columns": [(rules.FIELD_LABELS[f], _header_names(rules.HEADER_ALIASES[f]), f in rules.REQUIRED_FIELDS)
                                  for f in rules.FIELDS],
        "categories": _categories_of(department, regions), "department": department,
    })


def _header_names(aliases) -> tuple[list[str], list[str]]:
    """A column's header names: the Chinese ones a clerk types, and the Latin ones of system exports
    (shown as code: names of a file format, not words)."""
    latin = [a for a in aliases if re.fullmatch(r"[A-Za-z0-9_]+", a)]
    return [a for a in aliases if a not in latin], latin


def _categories_of(department: str, regions) -> list[tuple[str, str]]:
    """What the department may push for the regions it pushes for: the national list's categories it
    recognises and those the regions' policies define (a city's and its counties')."""
    from policies.categories import categories_for

    codes = [getattr(r, "code", r) for r in regions]
    tops = [c for c in codes if not any(o != c and contains(o, c) for o in codes)]
    out: dict[str, str] = {}
    for code in tops[:50]:
        for c in categories_for(code, below=True):
            if c.department == department:
                out.setdefault(c.code, c.label)
    return list(out.items())


@permission_required("exchange.view_pushes")
def push_template(request, fmt: str):
    example = [["360702196103121317", "赖福生", "特困人员", "新增", "2024-01-05", "章民发〔2024〕3号", "360702", "农村",
                "城乡居民医保"],
               ["360731197508152428", "钟秀英", "低保对象", "退出", "2024-02-29", "于民发〔2024〕7号", "", "", ""]]
    return exports.table_response(fmt, "identity_push_template", rules.TEMPLATE_HEADERS, example, "身份推送")


@permission_required("exchange.view_pushes")
def push_detail(request, pk: int):
    push = selectors.push_for(request.user, pk)
    if push is None:
        raise Http404
    page = lists.paginate(request, push.rejected_rows.all())
    for row in page.object_list:
        row.messages = [(p["label"], p["message"]) for p in rejected_rows.problems(row)]
        row.shown = rejected_rows.masked_values(row)
    if page.object_list:
        rejected_rows.log_view(acting_user=request.user, push=push, channel="screen",
                               where=_("page %(n)s") % {"n": page.number})
    return render(request, "exchange/push_detail.html", {
        "push": push, "page": page, "encoding": ENCODING_LABELS.get(push.encoding, push.encoding),
        "summary": _problem_summary(push) if push.rows_rejected else [],
    })


def _problem_summary(push) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for errors in push.rejected_rows.values_list("errors", flat=True).iterator(chunk_size=2000):
        for e in errors:
            key = str(rules.FIELD_LABELS.get(e["field"], e["field"]))
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


@permission_required("exchange.view_pushes")
def push_status(request, pk: int):
    """The progress bar (polled by htmx while the push is processed)."""
    push = selectors.push_for(request.user, pk)
    if push is None:
        raise Http404
    response = render(request, "exchange/_push_progress.html", {"push": push})
    if push.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@permission_required("exchange.view_pushes")
def push_rejected(request, pk: int, fmt: str):
    push = selectors.push_for(request.user, pk)
    if push is None:
        raise Http404
    headers = [_("row"), *rules.REPORT_HEADERS, _("reasons")]
    columns = ("row_no", "id_number", *rejected_rows.TEXT_COLUMNS)
    rejected_rows.log_view(acting_user=request.user, push=push, channel="export", where=fmt)
    # streamed: a push's rejected rows may be hundreds of thousands (portal.uploads)
    return uploads.error_download(
        fmt, f"push_{push.pk}_rejected_rows", headers, push.rejected_rows.order_by("row_no"),
        lambda r: [*(rejected_rows.masked_values(r)[c] for c in columns), rejected_rows.describe(r)],
        title=_("rejected rows"))


# ---------------------------------------------------------------------------------------------
# Confirmations
# ---------------------------------------------------------------------------------------------


@permission_required("exchange.view_confirmations")
def confirmation_list(request):
    user = request.user
    tab = request.GET.get("tab") or ("inbox" if selectors.liaison_departments(user) and not user.is_superuser
                                     else "sent")
    if tab == "inbox":
        status = request.GET.get("status", ConfirmationStatus.OPEN)
        qs = selectors.confirmations_inbox(user, status=status or None)
    else:
        status = request.GET.get("status", "")
        qs = selectors.confirmations_sent(user)
        if status:
            qs = qs.filter(status=status)
    return render(request, "exchange/confirmation_list.html", {
        "page": lists.paginate(request, qs), "tab": tab, "status": status, "statuses": ConfirmationStatus.choices,
        "is_liaison": bool(selectors.liaison_departments(user)),
        "is_reviewer": allowed(user, "exchange.ask_confirmation"),
    })


@permission_required("exchange.ask_confirmation")
@require_http_methods(["GET", "POST"])
def confirmation_new(request):
    from cases.models import Application

    app_id = request.POST.get("application") or request.GET.get("application")
    app = None
    if app_id and str(app_id).isdigit():
        app = Application.objects.select_related("person", "region").filter(pk=int(app_id)).first()
    if app is None or not allowed(request.user, "exchange.ask_confirmation", app):
        raise Http404
    claimed, since = confirmations.default_category(app)
    form = AskForm(request.POST or None, region_code=app.region_id, initial={"category": claimed,
                                                  "claimed_start": since or datetime.date(app.year, 1, 1)})
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            req = confirmations.ask_department(acting_user=request.user, application_id=app.pk, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, _("The %(department)s is asked to confirm; the case waits for its answer.")
                             % {"department": req.department.name})
            return redirect("exchange:confirmation_detail", req.pk)
    open_request = app.pk and selectors.confirmations_sent(request.user).filter(
        application_id=app.pk, status=ConfirmationStatus.OPEN).first()
    return render(request, "exchange/confirmation_new.html", {"form": form, "app": app, "open_request": open_request})


@permission_required("exchange.view_confirmations")
@require_http_methods(["GET", "POST"])
def confirmation_detail(request, pk: int):
    req = selectors.confirmation_for(request.user, pk)
    if req is None:
        raise Http404
    can_answer = req.status == ConfirmationStatus.OPEN and allowed(request.user, "exchange.answer_confirmation", req)
    confirm_form = ConfirmForm(initial={"confirmed_start": req.claimed_start}, prefix="confirm")
    reject_form = RejectForm(prefix="reject")
    if request.method == "POST" and can_answer:
        action = request.POST.get("action")
        if action == "confirm":
            confirm_form = ConfirmForm(request.POST, prefix="confirm")
            if confirm_form.is_valid():
                d = confirm_form.cleaned_data
                with refusals(confirm_form) as outcome:
                    confirmations.confirm(acting_user=request.user, request_id=req.pk, reference=d["reference"],
                                          start=d["confirmed_start"], end=d["confirmed_end"], note=d["note"])
                if outcome.ok:
                    messages.success(request, _("Confirmed; the case is back in review."))
                    return redirect("exchange:confirmation_list")
        elif action == "reject":
            reject_form = RejectForm(request.POST, prefix="reject")
            if reject_form.is_valid():
                with refusals(reject_form) as outcome:
                    confirmations.reject(acting_user=request.user, request_id=req.pk,
                                         reason=reject_form.cleaned_data["reason"])
                if outcome.ok:
                    messages.success(request, _("Not confirmed; the case is back in review with your reason."))
                    return redirect("exchange:confirmation_list")
    from cases.models import Identity

    held = Identity.objects.filter(person_id=req.person_id, category=req.category).order_by("start")
    full_number = None
    if can_answer:  # the liaison looks the person up in the department's records (the view is logged)
        with refusals(request=request):
            full_number = confirmations.reveal_person_number(acting_user=request.user, request_id=req.pk)
    from cases.selectors import visible_applications

    return render(request, "exchange/confirmation_detail.html", {
        "req": req, "can_answer": can_answer, "confirm_form": confirm_form, "reject_form": reject_form,
        "held": held, "masked": req.person.masked_id_number, "full_number": full_number,
        "case_link": bool(req.application_id) and visible_applications(request.user).filter(
            pk=req.application_id).exists(),
    })


@permission_required("exchange.view_deliveries")
def deliveries(request):
    return render(request, "exchange/deliveries.html", {"page": lists.paginate(request, selectors.deliveries_for(request.user))})

