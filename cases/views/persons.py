"""Persons: search, register, correct, the person page (identities, claims, cases), the full
identity number on request (logged), identity periods."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from policies import categories
from portal import lists
from portal.lists import Column, Sorting
from portal.permissions import permission_required
from portal.roles.domain import Role
from portal.roles.scoping import user_departments
from portal.web import refusals

from .. import identity_numbers, selectors
from ..access import (
    CASEWORK_ROLES,
    IDENTITY_EVIDENCE_ROLES,
    PERSON_READ_ROLES,
    PERSON_WRITE_ROLES,
    holds,
    holds_anywhere,
)
from ..filters import PersonFilter
from ..forms import CloseIdentityForm, IdentityForm, PersonForm
from ..models import ApplicationClaim, Identity, IdentityEntry, IdentityEntryStatus, RecognitionMethod
from ..services import persons
from ..services.errors import CaseCode
from .common import (
    found,
    keyset_page,
    region_choices,
    search_data,
    search_redirect,
)

PERSON_FIELDS = ("name", "region_code", "residence", "scheme", "phone", "bank_name", "bank_account", "account_holder")


#: the person list's sortable columns; id breaks ties
PERSON_SORTING = Sorting([
    Column("name", gettext_lazy("person's name"), ("name",)),
    Column("sex", gettext_lazy("sex"), ("sex",)),
    Column("birth_date", gettext_lazy("birth date"), ("birth_date",)),
    Column("region", gettext_lazy("region"), ("region_id",)),
    Column("residence", gettext_lazy("residence"), ("residence",)),
    Column("scheme", gettext_lazy("insurance scheme"), ("scheme",)),
], default=("-id",))


def _person_filter(request):
    """The person list's filter over the persons the user may read (scoping first, then the filter)."""
    search = search_data(request)
    qs = selectors.visible_persons(request.user).select_related("region", "household")
    filterset = PersonFilter(search.data, queryset=qs, request=request, full_number_ok=search.full_number_ok,
                             regions=region_choices(request.user, PERSON_READ_ROLES))
    return filterset, search


@permission_required("cases.view_persons")
def person_list(request):
    user = request.user
    if request.method == "POST":  # the search box posts (a full identity number stays out of the URL)
        return search_redirect(request, reverse("cases:persons"))
    filterset, search = _person_filter(request)
    if search.expired:
        messages.info(request, _("That search has expired: type the identity number again."))
    # a refused search (a full number in the address) or an expired one shows no rows
    qs = filterset.qs.none() if "q" in filterset.form.errors or search.expired else filterset.qs
    listing = lists.listing(request, qs, sorting=PERSON_SORTING, export_url=reverse("cases:persons_export"))
    filters = filterset.cleaned
    return render(request, "cases/person_list.html", {
        "form": filterset.form,
        # a refused search (a full number in the address) is not echoed, not even in the language form
        "shown_q": "" if "q" in filterset.form.errors else search.shown_q,
        "language_next": request.path if "q" in filterset.form.errors else None,
        "listing": listing,
        "page": listing.page,
        "searching": bool(filters.get("q") or filters.get("region") or filterset.form.errors),
        "can_register": holds_anywhere(user, PERSON_WRITE_ROLES),
    }, status=400 if filterset.form.errors else 200)


@permission_required("cases.view_persons")
def person_export(request):
    """The person list of the current filter as an Excel file (masked identity numbers), recorded in
    the export log."""
    filterset, _search = _person_filter(request)
    query = request.GET.urlencode()
    back = reverse("cases:persons") + (f"?{query}" if query else "")
    if not filterset.is_valid():
        return redirect(back)
    headers = [_("person's name"), _("identity number"), _("sex"), _("birth date"), _("region"), _("residence"),
               _("insurance scheme")]

    def row(p):
        return [p.name, p.masked_id_number, p.get_sex_display(), p.birth_date, p.region.name,
                p.get_residence_display(), p.get_scheme_display()]

    try:
        return lists.export(request, filterset.qs, list_name="persons", sorting=PERSON_SORTING, headers=headers,
                            row=row, title=_("Persons"), filters=lists.describe_filters(filterset.cleaned))
    except lists.TooManyRows as exc:
        messages.error(request, _("The list holds %(n)s rows; an export takes at most %(limit)s. Narrow the filter.")
                       % {"n": exc.count, "limit": lists.EXPORT_LIMIT})
        return redirect(back)


@permission_required("cases.register_person")
def person_new(request):
    user = request.user
    regions = region_choices(user, PERSON_WRITE_ROLES)
    form = PersonForm(request.POST if request.method == "POST" else None, regions=regions)
    facts = None
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in PERSON_FIELDS}
        with refusals(form) as outcome:
            person = persons.create_person(acting_user=user, id_number=form.cleaned_data["id_number"], **data)
        if outcome.ok:
            messages.success(request, _("%(name)s is registered.") % {"name": person.name})
            return redirect("cases:person", person.pk)
    if form.is_bound:
        facts = _id_facts(form.data.get("id_number", ""))
    return render(request, "cases/person_form.html", {"form": form, "facts": facts, "person": None},
                  status=400 if form.errors else 200)


def _id_facts(value: str) -> dict | None:
    """What an identity number says (sex, birth date), or the validator's message."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        facts = identity_numbers.validate(value)
    except identity_numbers.IdentityNumberError as exc:
        return {"error": str(exc)}
    from ..models import Sex

    return {"sex": dict(Sex.choices)[facts.sex], "birth_date": facts.birth_date}


@require_POST
@permission_required("cases.register_person")
def id_number_check(request):
    """The htmx answer beside the identity-number field: sex and birth date read from it, or why
    the number is not valid. It says nothing about whether the number is registered. (POST, so
    that full numbers stay out of URLs and access logs.)"""
    facts = _id_facts(request.POST.get("id_number", ""))
    return render(request, "cases/_id_facts.html", {"facts": facts})


@permission_required("cases.register_person")
def person_edit(request, pk: int):
    user = request.user
    detail = found(selectors.person_detail, user, pk)
    person = detail.person
    if not holds(user, PERSON_WRITE_ROLES, person.region_id):
        raise PermissionDenied(_("Only caseworkers and reviewers of the person's region correct the person."))
    regions = region_choices(user, PERSON_WRITE_ROLES)
    initial = {k: getattr(person, k) for k in PERSON_FIELDS if k != "region_code"}
    initial["region_code"] = person.region_id
    form = PersonForm(request.POST if request.method == "POST" else None, initial=initial, regions=regions, editing=True)
    if request.method == "POST" and form.is_valid():
        changes = {k: form.cleaned_data[k] for k in PERSON_FIELDS}
        if form.cleaned_data["id_number"]:
            changes["id_number"] = form.cleaned_data["id_number"]
        with refusals(form) as outcome:
            persons.update_person(acting_user=user, person_id=person.pk, **changes)
        if outcome.ok:
            messages.success(request, _("The person's details are saved."))
            return redirect("cases:person", person.pk)
    facts = _id_facts(form.data.get("id_number", "")) if form.is_bound else None
    return render(request, "cases/person_form.html", {"form": form, "facts": facts, "person": person},
                  status=400 if form.errors else 200)


def _identity_options(user, person) -> tuple[list[str], list[str]] | None:
    """(categories, methods) the user may record for ``person``, or None."""
    known = categories.categories_for(person.region_id)
    if holds(user, IDENTITY_EVIDENCE_ROLES, person.region_id):
        return [c.code for c in known], [RecognitionMethod.EVIDENCE]
    departments = user_departments(user, role=Role.LIAISON)
    if holds(user, [Role.LIAISON], person.region_id) and departments:
        cats = [c.code for c in known if c.department in departments]
        if cats:
            return cats, [RecognitionMethod.CONFIRMED, RecognitionMethod.PUSHED]
    return None


def _may_change_identity(user, person, identity: Identity) -> bool:
    options = _identity_options(user, person)
    return options is not None and identity.category in options[0]


def _claim_cases(claims) -> dict[int, object]:
    """claim id → the open case holding it (claims already scoped by the selector)."""
    links = ApplicationClaim.objects.filter(claim__in=[c.pk for c in claims], active=True).select_related("application")
    return {link.claim_id: link.application for link in links}


def _render_person(request, detail, *, identity_form=None, close_forms=None, revealed=None, status=200):
    user = request.user
    person = detail.person
    options = _identity_options(user, person)
    if options and identity_form is None:
        identity_form = IdentityForm(categories=options[0], methods=options[1])
    year = request.GET.get("year")
    claims = detail.claims
    if year and year.isdigit():
        claims = [c for c in claims if c.date.year == int(year)]
    years = sorted({c.date.year for c in detail.claims}, reverse=True)
    holders = _claim_cases(claims)
    for claim in claims:
        claim.open_case = holders.get(claim.pk)
    identities = detail.identities
    close_forms = close_forms or {}
    entries = selectors.identity_entries_of_person(person)
    reviewer = holds(user, [Role.REVIEWER], person.region_id)
    for entry in entries:
        entry.may_decide = (reviewer and entry.status == IdentityEntryStatus.PENDING
                            and entry.entered_by_id != user.pk)
    for identity in identities:
        identity.may_change = bool(options) and identity.category in options[0]
        identity.close_form = close_forms.get(identity.pk) or CloseIdentityForm(
            prefix=f"close{identity.pk}", initial={"end": identity.end})
    from ..access import hidden_person_fields

    hidden = hidden_person_fields(user, person.region_id)
    return render(request, "cases/person_detail.html", {
        "show_contact": not ({"phone", "bank_account"} & hidden),
        "person": person,
        "detail": detail,
        "identities": identities,
        "entries": entries,
        "claims": claims,
        "years": years,
        "year": int(year) if year and year.isdigit() else None,
        "applications": detail.applications,
        "identity_form": identity_form,
        "can_edit": holds(user, PERSON_WRITE_ROLES, person.region_id),
        "can_casework": holds(user, CASEWORK_ROLES, person.region_id),
        "revealed": revealed,
    }, status=status)


@permission_required("cases.view_persons")
def person_detail(request, pk: int):
    detail = found(selectors.person_detail, request.user, pk)
    return _render_person(request, detail)


@require_POST
@permission_required("cases.view_persons")
def person_reveal(request, pk: int):
    """Show the full identity number (only to those who may; each view is logged)."""
    user = request.user
    detail = found(selectors.person_detail, user, pk)
    person = detail.person
    context = _("person page %(id)s") % {"id": person.pk}
    case_id = request.POST.get("case")
    app = None
    if case_id and case_id.isdigit():
        app = selectors.visible_applications(user).filter(pk=int(case_id), person=person).first()
        if app is not None:
            context = _("case %(number)s") % {"number": app.number}
    reason = request.POST.get("reason", "").strip()[:200]
    if not reason:  # every web view records why, as the API does (issue 13)
        from ..access import can_view_full_id

        if not can_view_full_id(user, person):
            raise PermissionDenied(_("You may not see full identity numbers of this region."))
        error = _("Say why you need the full number; the reason is recorded with the view.")
        if request.htmx:
            return render(request, "cases/_id_number.html", {
                "person": person, "can_view_full_id": True, "reveal_error": error,
                "case": app})  # 200: htmx swaps only successful answers
        messages.error(request, error)
        return _render_person(request, detail, status=400)
    with refusals() as outcome:
        number = persons.reveal_id_number(acting_user=user, person=person, context=context, reason=reason)
    if not outcome.ok:
        raise PermissionDenied(outcome.messages[0])
    if request.htmx:
        return render(request, "cases/_id_revealed.html", {"number": number})
    return _render_person(request, detail, revealed=number)


@require_POST
@permission_required("cases.record_identity")
def identity_add(request, pk: int):
    user = request.user
    detail = found(selectors.person_detail, user, pk)
    person = detail.person
    options = _identity_options(user, person)
    if options is None:
        raise PermissionDenied(_("You may not record identities of this person."))
    form = IdentityForm(request.POST, categories=options[0], methods=options[1])
    if form.is_valid():
        d = form.cleaned_data
        with refusals(form) as outcome:
            recorded = persons.add_identity(acting_user=user, person_id=person.pk, category=d["category"],
                                            start=d["start"], end=d["end"], method=d["method"],
                                            reference=d["reference"], source="web")
        if outcome.ok:
            if isinstance(recorded, IdentityEntry):
                messages.success(request, _("The identity is entered. It counts in no settlement until a second "
                                            "reviewer confirms it."))
            else:
                messages.success(request, _("The identity period is recorded; the person's open cases are "
                                            "recalculated."))
            return redirect("cases:person", person.pk)
    detail = found(selectors.person_detail, user, pk)
    return _render_person(request, detail, identity_form=form, status=400)


@require_POST
@permission_required("cases.record_identity")
def identity_close(request, pk: int):
    user = request.user
    identity = Identity.objects.filter(pk=pk, person__in=selectors.visible_persons(user)).select_related("person").first()
    if identity is None:
        raise Http404(_("Identity not found."))
    person = identity.person
    if not _may_change_identity(user, person, identity):
        raise PermissionDenied(_("You may not change this identity."))
    form = CloseIdentityForm(request.POST, prefix=f"close{identity.pk}")
    if form.is_valid():
        with refusals(form) as outcome:
            persons.close_identity(acting_user=user, identity_id=identity.pk, end=form.cleaned_data["end"],
                                   reference=form.cleaned_data["reference"])
        if outcome.ok:
            messages.success(request, _("The identity period now ends on %(date)s.") % {"date": form.cleaned_data["end"]})
            return redirect("cases:person", person.pk)
    detail = found(selectors.person_detail, user, person.pk)
    return _render_person(request, detail, close_forms={identity.pk: form}, status=400)


# --- Identities entered by bureau staff: the second reviewer ---------------------------------------------


@permission_required("cases.confirm_identity")
def identity_entries(request):
    """Identities entered by caseworkers and reviewers that wait for a second reviewer (this user
    may decide them: their region, not their own entry)."""
    qs = selectors.identity_entries_to_decide(request.user)
    page = keyset_page(request, qs, ordering="id")
    for entry in page.rows:
        entry.may_decide = True
    return render(request, "cases/identity_entries.html", {"page": page})


@require_POST
@permission_required("cases.confirm_identity")
def identity_entry_decide(request, pk: int):
    """Confirm (``decision=confirm``) or reject (``decision=reject`` with ``reason``) an entry."""
    user = request.user
    entry = IdentityEntry.objects.filter(pk=pk, person__in=selectors.visible_persons(user)).first()
    if entry is None:
        raise Http404(_("Identity entry not found."))
    decision = request.POST.get("decision", "")
    back = request.POST.get("next") == "queue"
    # four eyes and the reviewer's own open request are said on the page (they may decide others)
    with refusals(request=request, shown=(CaseCode.FOUR_EYES, CaseCode.OWN_DEPARTMENT_REQUEST)):
        if decision == "confirm":
            persons.confirm_identity_entry(acting_user=user, entry_id=entry.pk)
            messages.success(request, _("The identity is confirmed and recorded; the person's cases are "
                                        "recalculated."))
        elif decision == "reject":
            persons.reject_identity_entry(acting_user=user, entry_id=entry.pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("The identity entry is rejected; nothing is recorded."))
        else:
            messages.error(request, _("Choose to confirm or to reject the identity."))
    return redirect("cases:identity_entries") if back else redirect("cases:person", entry.person_id)
