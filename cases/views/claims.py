"""Claims: the entry form (typed in from a hospital's settlement statement), corrections, and the
import of the national platform's settlement records with its row report."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import exports, uploads
from portal.permissions import permission_required
from portal.web import refusals

from .. import selectors
from ..access import CASEWORK_ROLES, holds
from ..forms import ClaimForm, ImportForm
from ..imports.national import column_label, receive_claim_import
from ..models import EDITABLE_STATES, Claim
from ..services import claims as claim_service
from ..services.values import CLAIM_FIELDS
from .common import found


def _editable_case(user, person, application_id):
    """The draft/returned case of ``person`` a new claim is attached to (``?application=``)."""
    if not application_id or not str(application_id).isdigit():
        return None
    app = selectors.visible_applications(user).filter(pk=int(application_id), person=person).first()
    if app is None or app.state not in EDITABLE_STATES:
        return None
    return app


@permission_required("cases.do_casework")
def claim_new(request, pk: int):
    user = request.user
    person = found(selectors.person_detail, user, pk).person
    if not holds(user, CASEWORK_ROLES, person.region_id):
        raise PermissionDenied(_("Claims are entered by the caseworkers of the person's region."))
    app = _editable_case(user, person, request.POST.get("application") or request.GET.get("application"))
    form = ClaimForm(request.POST if request.method == "POST" else None,
                     computable=selectors.claim_amounts_computable(person.region_id))
    duplicates = None
    if request.method == "POST" and form.is_valid():
        # e.g. the claim's year is not the case's: nothing is saved, the reason is shown above the form
        with refusals(form) as outcome:
            try:
                claim = claim_service.create_claim(acting_user=user, person_id=person.pk,
                                                   application_id=app.pk if app else None,
                                                   confirm_duplicate=request.POST.get("confirm_duplicate") == "1",
                                                   **form.service_values)
            except claim_service.DuplicateClaim as exc:
                # Not a refusal but a question, asked before saving: the clerk confirms (a second,
                # identical settlement) or cancels.
                duplicates, outcome.ok = exc.duplicates, False
        if outcome.ok:
            messages.success(request, _("Claim of %(date)s saved.") % {"date": claim.date})
            if "another" in request.POST:
                url = request.path + (f"?application={app.pk}" if app else "")
                return redirect(url)
            if app:
                return redirect("cases:case", app.pk)
            return redirect(f"{_person_url(person)}#claims")
    return render(request, "cases/claim_form.html",
                  {"form": form, "person": person, "app": app, "claim": None, "duplicates": duplicates},
                  status=400 if form.errors else (409 if duplicates else 200))


def _person_url(person) -> str:
    return reverse("cases:person", args=[person.pk])


def _claim(user, pk: int) -> Claim:
    claim = selectors.visible_claims(user).select_related("person").filter(pk=pk).first()
    if claim is None:
        raise Http404(_("Claim not found."))
    return claim


@permission_required("cases.do_casework")
def claim_edit(request, pk: int):
    user = request.user
    claim = _claim(user, pk)
    if not holds(user, CASEWORK_ROLES, claim.region_id):
        raise PermissionDenied(_("Claims are corrected by the caseworkers of the claim's region."))
    initial = {f: getattr(claim, f) for f in CLAIM_FIELDS}
    initial["date"] = claim.date.isoformat()
    initial["hospital_level"] = str(claim.hospital_level)
    for f in ClaimForm.MONEY_FIELDS:
        initial[f] = "" if initial[f] is None else f"{initial[f]:.2f}"
    form = ClaimForm(request.POST if request.method == "POST" else None, initial=initial,
                     computable=selectors.claim_amounts_computable(claim.region_id, claim.date))
    if request.method == "POST" and form.is_valid():
        with refusals(form) as outcome:
            claim_service.update_claim(acting_user=user, claim_id=claim.pk, **form.service_values)
        if outcome.ok:
            messages.success(request, _("The claim is corrected; open cases of %(year)s are recalculated.")
                             % {"year": form.service_values["date"].year})
            return redirect(f"{_person_url(claim.person)}#claims")
    return render(request, "cases/claim_form.html", {"form": form, "person": claim.person, "app": None, "claim": claim},
                  status=400 if form.errors else 200)


@require_POST
@permission_required("cases.do_casework")
def claim_void(request, pk: int):
    user = request.user
    claim = _claim(user, pk)
    with refusals(request=request) as outcome:
        claim_service.void_claim(acting_user=user, claim_id=claim.pk, reason=request.POST.get("reason", ""))
    if not outcome.ok:
        return redirect("cases:claim_edit", claim.pk)
    messages.success(request, _("The claim is voided; it no longer counts. Open cases of %(year)s are recalculated.")
                     % {"year": claim.date.year})
    return redirect(f"{_person_url(claim.person)}#claims")


# --- Import -------------------------------------------------------------------------------------------


@permission_required("cases.do_casework")
def claim_import(request):
    """Receive a file (its size and kind checked at once, read and imported by the worker) and go to its report, which shows
    the progress until the worker is done. The same file again shows the earlier import."""
    user = request.user
    form = ImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with refusals(form) as outcome:
            record = receive_claim_import(acting_user=user, fileobj=upload, filename=upload.name,
                                          again=form.cleaned_data["again"])
        if outcome.ok:
            if not record.created:
                when = record.uploaded_at.strftime("%Y-%m-%d %H:%M")
                if record.is_finished:
                    messages.info(request, _("You imported this file before (%(time)s); that import is shown. Tick "
                                             "“import it again” to import it once more.") % {"time": when})
                else:
                    messages.info(request, _("This file is being imported already (received %(time)s); its "
                                             "progress is shown.") % {"time": when})
            return redirect("cases:claim_import_report", record.pk)
    return render(request, "cases/claim_import.html", {
        "form": form,
        "columns": selectors.claim_import_format(),
        "imports": list(selectors.visible_imports(user).order_by("-uploaded_at")[:10]),
    }, status=400 if form.errors else 200)


def _import(user, pk: int):
    record = selectors.visible_imports(user).filter(pk=pk).first()
    if record is None:
        raise Http404(_("Import not found."))
    return record


@permission_required("cases.do_casework")
def claim_import_report(request, pk: int):
    """The import's progress while the worker reads it, then its counts and its problems (100 a page)."""
    record = _import(request.user, pk)
    page = uploads.error_page(request, record.row_errors.order_by("row", "id"))
    return render(request, "cases/claim_import_report.html", {"record": record, "page": page})


@permission_required("cases.do_casework")
def claim_import_status(request, pk: int):
    """The progress block (polled by htmx while the worker imports; the page reloads when it is done)."""
    record = _import(request.user, pk)
    response = render(request, "cases/_claim_import_progress.html", {"record": record})
    if record.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@permission_required("cases.do_casework")
def claim_import_report_download(request, pk: int, fmt: str):
    """Every problem of the import, streamed as CSV or .xlsx."""
    record = _import(request.user, pk)
    headers = [_("row"), _("column"), _("value in the file"), _("reason")]
    return uploads.error_download(
        fmt, f"claim_import_{record.pk}_report", headers, record.row_errors.order_by("row", "id"),
        lambda e: [e.row, e.label or column_label(e.column), e.value, e.message], title=_("Rejected rows"))


@permission_required("cases.do_casework")
def claim_import_template(request):
    """An empty file with the national column names, to fill in or to compare with an export."""
    headers = [c["column"] for c in selectors.claim_import_format()]
    return exports.csv_response("setlinfo_template.csv", headers, [])
