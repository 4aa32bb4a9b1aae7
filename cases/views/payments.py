"""Payments: the approved cases and pending adjustments to pay, building a batch (idempotent: a
hidden request key makes a double submit return the first batch), the batch page, the bank file
(CSV / Excel through ``payments.export_batch``) and the bank's result per line."""
from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from portal import lists, uploads
from portal.lists import Column, Sorting
from portal.permissions import permission_required
from portal.roles.domain import Role
from portal.web import refusals

from .. import selectors
from ..access import PAYMENT_ROLES, holds, holds_anywhere
from ..filters import PaymentLineFilter
from ..forms import BatchForm
from ..models import BatchStatus, PaymentLineStatus
from ..services import adjustments as adjustment_review
from ..services import bank_returns, payees, payments, recoveries
from ..services.errors import CaseCode
from .common import found, keyset_page, region_choices


def _default_region(choices) -> str:
    return choices[0][0] if choices else ""


@permission_required("cases.pay")
def to_pay(request):
    """Approved cases not in a batch and pending adjustments in the officer's regions, with the
    form that builds a batch from the ones ticked (or from all of a region)."""
    user = request.user
    regions = region_choices(user, PAYMENT_ROLES)
    form = None
    if request.method == "POST":
        form = BatchForm(request.POST, regions=regions)
        if form.is_valid():
            d = form.cleaned_data
            everything = d["mode"] == "all"
            if not everything and not (d["application_ids"] or d["adjustment_ids"]):
                form.add_error(None, _("Tick the cases or adjustments to pay, or build the batch from everything payable "
                                       "in the region."))
            else:
                with refusals(form) as outcome:
                    batch = payments.create_batch(
                        acting_user=user, region_code=d["region"],
                        application_ids=None if everything else d["application_ids"],
                        adjustment_ids=None if everything else d["adjustment_ids"],
                        note=d["note"], request_key=d["request_key"],
                    )
                if outcome.ok:
                    messages.success(request, _("Payment batch %(batch)s: %(n)s payments, %(total)s yuan.") % {
                        "batch": batch.number, "n": batch.line_count, "total": f"{batch.total_amount:,.2f}"})
                    for item, reason in getattr(batch, "skipped", []):
                        messages.warning(request, _("Left out: %(item)s — %(reason)s") % {"item": item, "reason": reason})
                    return redirect("cases:batch", batch.pk)
    posted = getattr(form, "cleaned_data", {}).get("region") if form is not None else None
    region = posted or request.GET.get("region") or _default_region(regions)
    if region not in {code for code, _label in regions}:
        region = _default_region(regions)
    if form is None:
        form = BatchForm(regions=regions, initial={"region": region, "request_key": uuid.uuid4().hex})
    else:
        # A refused submit gets a fresh key so that a corrected one is a new request.
        data = form.data.copy()
        data["request_key"] = uuid.uuid4().hex
        form.data = data
    page = keyset_page(request, selectors.payable_applications(user, region=region or None),
                       ordering=selectors.queue_ordering("to_pay"))
    failures = selectors.last_failures([app.pk for app in page])
    for app in page:
        app.last_failure = failures.get(app.pk)
    adjustments = list(selectors.pending_adjustments(user, region=region or None)[:200])
    for adj in adjustments:
        adj.approval_state = adjustment_review.approval_state(adj)
        adj.state_label = adjustment_review.STATE_LABELS[adj.approval_state]
        adj.reason_text = adjustment_review.reason_text(adj)
    ticked_apps = set(form["application_ids"].value() or []) if form.is_bound else set()
    ticked_adjs = set(form["adjustment_ids"].value() or []) if form.is_bound else set()
    return render(request, "cases/to_pay.html", {
        "form": form,
        "region": region,
        "regions": regions,
        "page": page,
        "adjustments": adjustments,
        "ticked_apps": {str(v) for v in ticked_apps},
        "ticked_adjs": {str(v) for v in ticked_adjs},
    }, status=400 if form.errors else 200)


@permission_required("cases.view_batches")
def batch_list(request):
    user = request.user
    qs = selectors.visible_batches(user)
    status = request.GET.get("status")
    if status in BatchStatus.values:
        qs = qs.filter(status=status)
    page = keyset_page(request, qs, ordering="-id")
    return render(request, "cases/batch_list.html", {
        "page": page, "status": status or "", "statuses": BatchStatus.choices,
        "can_build": holds_anywhere(user, PAYMENT_ROLES),
    })


#: the payment-line list's sortable columns; id breaks ties
LINE_SORTING = Sorting([
    Column("batch", gettext_lazy("payment batch"), ("batch_id",)),
    Column("case", gettext_lazy("case number"), ("application__number",)),
    Column("person", gettext_lazy("person"), ("application__person__name",)),
    Column("amount", gettext_lazy("amount"), ("amount",)),
    Column("status", gettext_lazy("status"), ("status",)),
    Column("created", gettext_lazy("created at"), ("created_at",)),
], default=("-id",))


def _line_filter(request):
    """The payment-line list's filter over the lines the user may read (scoping first, then the filter)."""
    return PaymentLineFilter(request.GET, queryset=selectors.visible_payment_lines(request.user), request=request)


@permission_required("cases.view_batches")
def payment_lines(request):
    """Every payment line of the user's regions (支付明细): who was paid what, in which batch, with what result."""
    filterset = _line_filter(request)
    listing = lists.listing(request, filterset.qs, sorting=LINE_SORTING, export_url=reverse("cases:payment_lines_export"))
    return render(request, "cases/payment_lines.html", {
        "form": filterset.form, "listing": listing, "page": listing.page,
        "perms_pay": holds_anywhere(request.user, PAYMENT_ROLES),
    }, status=400 if filterset.form.errors else 200)


@permission_required("cases.view_batches")
def payment_lines_export(request):
    """The payment lines of the current filter as an Excel file (masked identity numbers, no account
    numbers: the bank file is the batch's own export), recorded in the export log."""
    filterset = _line_filter(request)
    back = f"{reverse('cases:payment_lines')}?{request.GET.urlencode()}"
    if not filterset.is_valid():
        return redirect(back)
    headers = [_("payment batch"), _("case number"), _("person"), _("identity number"), _("kind"), _("amount"),
               _("status"), _("bank reference"), _("failure reason")]

    def row(line):
        person = line.application.person
        return [line.batch.number, line.application.number, person.name, person.masked_id_number,
                line.get_kind_display(), line.amount, line.get_status_display(), line.bank_reference,
                line.failure_reason]

    try:
        return lists.export(request, filterset.qs, list_name="payment_lines", sorting=LINE_SORTING, headers=headers,
                            row=row, title=_("Payment lines"), filters=lists.describe_filters(filterset.cleaned))
    except lists.TooManyRows as exc:
        messages.error(request, _("The list holds %(n)s rows; an export takes at most %(limit)s. Narrow the filter.")
                       % {"n": exc.count, "limit": lists.EXPORT_LIMIT})
        return redirect(back)


def _render_batch(request, batch_id: int, *, submitted=None, errors=None, return_errors=None, status=200):
    user = request.user
    batch, lines = found(selectors.batch_detail, user, batch_id)
    may_record = batch.status == BatchStatus.OPEN and holds(user, PAYMENT_ROLES, batch.region_id)
    submitted = submitted or {}
    for line in lines:
        line.form_outcome = submitted.get(f"outcome-{line.pk}", "")
        line.form_reference = submitted.get(f"reference-{line.pk}", "")
        line.form_reason = submitted.get(f"reason-{line.pk}", "")
        line.approved_by_me = line.application.approved_by_id == user.pk
    pending = sum(1 for line in lines if line.status == PaymentLineStatus.PENDING)
    may_record = may_record and batch.exported_at is not None
    returns = list(selectors.bank_returns_of(user, batch.pk))
    return render(request, "cases/batch_detail.html", {
        "returns": returns,
        "may_upload_return": batch.status == BatchStatus.OPEN and holds(user, PAYMENT_ROLES, batch.region_id)
        and batch.exported_at is not None,
        "may_export": holds(user, PAYMENT_ROLES, batch.region_id),
        "deliveries": list(batch.deliveries.select_related("delivered_by").order_by("-id")[:50]),
        "deducted": sum((line.deduction for line in lines), 0),
        "return_errors": return_errors or [],
        "batch": batch,
        "lines": lines,
        "may_record": may_record and pending > 0,
        "pending": pending,
        "errors": errors or [],
        "paid_total": sum((line.amount for line in lines if line.status == PaymentLineStatus.PAID), 0),
    }, status=status)


@permission_required("cases.view_batches")
def batch_detail(request, pk: int):
    return _render_batch(request, pk)


@permission_required("cases.pay")
def batch_export(request, pk: int, fmt: str):
    user = request.user
    batch, _lines = found(selectors.batch_detail, user, pk)  # 404 outside the user's regions
    if fmt not in ("csv", "xlsx"):
        raise Http404
    with refusals() as outcome:
        filename, content_type, content = payments.export_batch(acting_user=user, batch_id=batch.pk, fmt=fmt)
    if not outcome.ok:
        raise PermissionDenied(outcome.messages[0])
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_POST
@permission_required("cases.pay")
def batch_results(request, pk: int):
    """Record the bank's answer: for each line ticked paid (with the bank reference) or failed
    (with the bank's reason). Problems are listed and what was typed is kept."""
    user = request.user
    batch, lines = found(selectors.batch_detail, user, pk)
    if not holds(user, PAYMENT_ROLES, batch.region_id):
        raise PermissionDenied(_("Only payment officers of the batch's region record its results."))
    results = []
    for line in lines:
        outcome = request.POST.get(f"outcome-{line.pk}", "")
        if not outcome:
            continue
        results.append({
            "line_id": line.pk, "outcome": outcome,
            "bank_reference": request.POST.get(f"reference-{line.pk}", ""),
            "reason": request.POST.get(f"reason-{line.pk}", ""),
        })
    if not results:
        return _render_batch(request, batch.pk, submitted=request.POST,
                             errors=[_("Choose paid or failed for at least one line.")], status=400)
    if request.POST.get("confirmed") != "1":
        with refusals() as outcome:
            payments.check_results(acting_user=user, batch_id=batch.pk, results=results)
        if not outcome.ok:
            return _render_batch(request, batch.pk, submitted=request.POST, errors=outcome.messages,
                                 status=outcome.status)
        # Recording results moves money for good: show what will be recorded and ask again.
        by_id = {line.pk: line for line in lines}
        return render(request, "cases/batch_confirm_results.html", {
            "batch": batch, "results": [dict(r, line=by_id[r["line_id"]]) for r in results],
            "paid": sum(1 for r in results if r["outcome"] == PaymentLineStatus.PAID),
            "failed": sum(1 for r in results if r["outcome"] != PaymentLineStatus.PAID),
            "paid_total": sum((by_id[r["line_id"]].amount for r in results if r["outcome"] == PaymentLineStatus.PAID), 0),
        })
    # Four eyes, a result already recorded differently: shown.
    with refusals(shown=(CaseCode.FOUR_EYES,)) as outcome:
        payments.record_results(acting_user=user, batch_id=batch.pk, results=results)
    if not outcome.ok:
        return _render_batch(request, batch.pk, submitted=request.POST, errors=outcome.messages, status=outcome.status)
    paid = sum(1 for r in results if r["outcome"] == PaymentLineStatus.PAID)
    failed = len(results) - paid
    messages.success(request, _("Recorded: %(paid)s paid, %(failed)s failed. Failed cases are back among the approved "
                                "cases for another batch.") % {"paid": paid, "failed": failed})
    return redirect("cases:batch", batch.pk)


@require_POST
@permission_required("cases.pay")
def batch_return_upload(request, pk: int):
    """Receive the bank's return file (回盘文件); the worker applies it, the page polls its progress."""
    user = request.user
    batch, _lines = found(selectors.batch_detail, user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        return _render_batch(request, batch.pk, return_errors=[_("Choose the bank's return file.")], status=400)
    with refusals() as outcome:
        bank_return = bank_returns.receive_bank_return(acting_user=user, batch_id=batch.pk, fileobj=upload,
                                                       filename=upload.name)
    if not outcome.ok:
        return _render_batch(request, batch.pk, return_errors=outcome.messages, status=outcome.status)
    if bank_return.created:
        messages.success(request, _("Return file %(name)s received; its rows are being checked and recorded in the "
                                    "background.") % {"name": bank_return.original_name})
    else:
        messages.info(request, _("This file was received before (%(time)s); nothing is recorded twice.")
                      % {"time": bank_return.created_at.strftime("%Y-%m-%d %H:%M")})
    return redirect(f"{reverse('cases:batch', args=[batch.pk])}#bank-return-{bank_return.pk}")


@require_GET
@permission_required("cases.view_batches")
def bank_return_rejected(request, pk: int):
    """The rejected rows of one return file, 100 a page."""
    bank_return = found(selectors.bank_return_detail, request.user, pk)
    page = uploads.error_page(request, bank_return.row_errors.order_by("row", "id"))
    return render(request, "cases/bank_return_rejected.html", {"br": bank_return, "page": page})


@require_GET
@permission_required("cases.view_batches")
def bank_return_rejected_download(request, pk: int, fmt: str):
    """Every rejected row of one return file, streamed as CSV or .xlsx."""
    bank_return = found(selectors.bank_return_detail, request.user, pk)
    headers = [_("row"), _("column"), _("reason")]
    return uploads.error_download(fmt, f"bank_return_{bank_return.pk}_rejected_rows", headers,
                                  bank_return.row_errors.order_by("row", "id"), lambda e: [e.row, e.field, e.reason],
                                  title=_("rejected rows"))


@require_GET
@permission_required("cases.view_batches")
def bank_return_status(request, pk: int):
    """One return file's status, counts and rejected rows (polled by htmx while it is processed)."""
    bank_return = found(selectors.bank_return_detail, request.user, pk)
    response = render(request, "cases/_bank_return.html", {"br": bank_return})
    if bank_return.is_finished and request.htmx and request.GET.get("polling"):
        response["HX-Refresh"] = "true"
    return response


# --- 补发 and payee changes to review and approve; a case's payee ------------------------------------


@permission_required("cases.review_payment_change")
def payment_reviews(request):
    """补发 and payee changes waiting for a reviewer or an approver, with the amount, the amount
    approved with the case and the reason (补发), or old → new (payee); a form per item."""
    user = request.user
    errors = []
    if request.method == "POST":
        item, pk = request.POST.get("item", ""), request.POST.get("id", "")
        decision, comment = request.POST.get("decision", ""), request.POST.get("comment", "")
        passed = decision == "pass"
        with refusals(shown=(CaseCode.FOUR_EYES,)) as outcome:
            if decision not in ("pass", "reject") or item not in ("supplement", "payee", "waiver"):
                raise ValidationError(_("Choose pass or reject."))
            if item == "supplement":
                adj = selectors.visible_adjustments(user).filter(pk=int(pk) if pk.isdigit() else 0).first()
                if adj is None:
                    raise Http404
                if adjustment_review.approval_state(adj) == adjustment_review.TO_REVIEW:
                    adjustment_review.review(acting_user=user, adjustment_id=adj.pk, passed=passed, comment=comment,
                                             expected_amount=request.POST.get("amount") or None)
                else:
                    adjustment_review.decide(acting_user=user, adjustment_id=adj.pk, approved=passed, comment=comment,
                                             expected_amount=request.POST.get("amount") or None)
            elif item == "waiver":
                recoveries.decide_waiver(acting_user=user, entry_id=int(pk) if pk.isdigit() else 0, approved=passed,
                                         comment=comment)
            else:
                change = selectors.payee_changes_to_decide(user).filter(pk=int(pk) if pk.isdigit() else 0).first()
                if change is None:
                    raise Http404
                if change.state == "to_review":
                    payees.review_change(acting_user=user, change_id=change.pk, passed=passed, comment=comment)
                else:
                    payees.decide_change(acting_user=user, change_id=change.pk, approved=passed, comment=comment)
        errors = outcome.messages  # out of the user's regions or role: the 404 / 403 page
        if outcome.ok:
            messages.success(request, _("Decision recorded."))
            return redirect("cases:payment_reviews")
    return render(request, "cases/payments_reviews.html", {
        "supplements": selectors.supplements_to_decide(user),
        "payee_changes": list(selectors.payee_changes_to_decide(user)[:200]),
        "waivers": list(selectors.waivers_to_decide(user)[:200]),
        "errors": errors,
        "is_reviewer": holds_anywhere(user, [Role.REVIEWER]),
        "is_approver": holds_anywhere(user, [Role.APPROVER]),
    }, status=400 if errors else 200)


@permission_required("cases.read_cases")
def case_payee(request, pk: int):
    """The payee frozen on the case at approval, the person's current account, the payee changes
    (old → new) and, for a caseworker, the request of a change (sent to review and approval)."""
    user = request.user
    data = found(selectors.case_payee, user, pk)
    app = data["application"]
    errors = []
    if request.method == "POST":
        with refusals() as outcome:
            payees.request_change(acting_user=user, application_id=app.pk, reason=request.POST.get("reason", ""),
                                  payee_type=request.POST.get("payee_type", "person"),
                                  payee_name=request.POST.get("payee_name", ""),
                                  payee_bank=request.POST.get("payee_bank", ""),
                                  payee_account=request.POST.get("payee_account", ""))
        errors = outcome.messages
        if outcome.ok:
            messages.success(request, _("The payee change was sent to review and approval; the case is not paid "
                                        "until it is decided."))
            return redirect("cases:case_payee", app.pk)
    current = data["current"]
    differs = data["frozen"] and (current["payee_account"], current["payee_name"]) != (
        app.approved_payee_account, app.approved_payee_name)
    return render(request, "cases/payments_payee.html", {
        **data, "errors": errors, "differs": differs, "posted": request.POST if errors else {},
        "may_request": holds(user, [Role.CASEWORKER], app.region_id) and app.state in payees.FROZEN_STATES
        and not any(c.is_open for c in data["changes"]),
    }, status=400 if errors else 200)


# --- Recoveries (追回) ------------------------------------------------------------------------------


@permission_required("cases.view_recoveries")
def recovery_list(request):
    """What persons owe back, with the reason in words and what was recovered; a payment officer
    records a repayment (date, receipt number), a caseworker or payment officer asks for a waiver
    (an approver decides it on the review page)."""
    user = request.user
    errors, posted = [], {}
    if request.method == "POST":
        action, pk = request.POST.get("action", ""), request.POST.get("id", "")
        posted = {"id": pk, **{k: request.POST.get(k, "") for k in ("amount", "repaid_on", "receipt_number", "reason")}}
        adj = selectors.visible_adjustments(user).filter(pk=int(pk) if pk.isdigit() else 0, kind="recovery").first()
        if adj is None:
            raise Http404
        with refusals() as outcome:
            if action == "repaid":
                recoveries.record_repayment(acting_user=user, adjustment_id=adj.pk, amount=posted["amount"],
                                            repaid_on=posted["repaid_on"], receipt_number=posted["receipt_number"])
                messages.success(request, _("Repayment recorded."))
            elif action == "waiver":
                recoveries.request_waiver(acting_user=user, adjustment_id=adj.pk, amount=posted["amount"],
                                          reason=posted["reason"])
                messages.success(request, _("The waiver was sent to an approver."))
            else:
                raise ValidationError(_("Choose what to record."))
        errors = outcome.messages
        if outcome.ok:
            return redirect("cases:recoveries")
    return render(request, "cases/payments_recoveries.html", {
        "recoveries": selectors.recoveries_of(user, open_only=request.GET.get("all") != "1"),
        "show_all": request.GET.get("all") == "1",
        "errors": errors, "posted": posted,
        "may_repay": holds_anywhere(user, PAYMENT_ROLES),
        "may_ask_waiver": holds_anywhere(user, recoveries.WAIVER_REQUEST_ROLES),
    }, status=400 if errors else 200)
