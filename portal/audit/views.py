"""The audit log (审计日志): auditors of a region (and superusers) only — every change with who, when,
channel and old → new; the full-number view log; bank-account changes; the recorded Excel exports of
list pages; an Excel export of each.
Read-only: nothing here writes."""
from __future__ import annotations

from django.db import connection
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import exports
from portal.permissions import permission_required

from . import selectors
from .selectors import ACTIONS, CHANNELS, EXPORT_LIMIT, PAGE_SIZE, TRACKED, Filters

MAX_PAGE = 2000


_auditor = permission_required("audit.view_log", gettext_lazy("The audit log is for auditors."))


def _page(request) -> int:
    raw = request.GET.get("page") or "1"
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


def _context(request, tab: str, f: Filters, **extra) -> dict:
    query = f.as_query()
    return {
        "tab": tab, "filters": f, "query": urlencode(query),
        "export_query": urlencode({**query, "tab": tab}),
        "kinds": [(t.key, t.label) for t in TRACKED], "actions": ACTIONS, "channels": CHANNELS,
        "history_recorded": connection.vendor == "postgresql", **extra,
    }


def _paged(request, items_plus_one: list, page: int) -> dict:
    has_next = len(items_plus_one) > PAGE_SIZE
    return {"page": page, "has_next": has_next, "has_previous": page > 1,
            "next_page": page + 1, "previous_page": page - 1}


@_auditor
def log(request):
    """Every recorded change, newest first, searchable by person, case, operator, action, kind,
    channel and time."""
    f = Filters.from_query(request.GET)
    page = _page(request)
    rows = [] if f.errors else selectors.history_rows(request.user, f, offset=(page - 1) * PAGE_SIZE,
                                                       limit=PAGE_SIZE + 1)
    entries = selectors.explain(rows[:PAGE_SIZE])
    return render(request, "audit/log.html", _context(request, "log", f, entries=entries, **_paged(request, rows, page)),
                  status=400 if f.errors else 200)


def _tab(request, tab: str, selector, template: str):
    """One tab of the audit log: its rows through ``selector`` under the page's filters, a page at a time."""
    f = Filters.from_query(request.GET)
    page = _page(request)
    qs = selector(request.user, f)
    rows = [] if f.errors else list(qs[(page - 1) * PAGE_SIZE:page * PAGE_SIZE + 1])
    return render(request, template, _context(request, tab, f, rows=rows[:PAGE_SIZE], **_paged(request, rows, page)),
                  status=400 if f.errors else 200)


@_auditor
def id_views(request):
    """Who saw whose full identity number, when, where and why."""
    return _tab(request, "id_views", selectors.id_number_views, "audit/id_views.html")


@_auditor
def bank_changes(request):
    """Every change of a person's bank, account or account holder (old → new)."""
    return _tab(request, "bank_changes", selectors.bank_account_changes, "audit/bank_changes.html")


@_auditor
def simulations(request):
    """Who ran which fund-impact simulation of which policy version, for which year, and when."""
    return _tab(request, "simulations", selectors.policy_simulations, "audit/simulations.html")


@_auditor
def list_exports(request):
    """The recorded Excel exports of list pages: who, when, which list, which filter, how many rows."""
    f = Filters.from_query(request.GET)
    page = _page(request)
    qs = selectors.list_exports(request.user, f)
    rows = [] if f.errors else list(qs[(page - 1) * PAGE_SIZE:page * PAGE_SIZE + 1])
    for row in rows:
        row.list_label = selectors.list_label(row.list_name)
        row.filter_text = selectors.describe_export_filters(row.filters, row.list_name)
    return render(request, "audit/list_exports.html",
                  _context(request, "list_exports", f, rows=rows[:PAGE_SIZE], **_paged(request, rows, page)),
                  status=400 if f.errors else 200)


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _user(user) -> str:
    return user.display_name if user is not None else _("the system")


def _whose(view) -> tuple[str, str]:
    """(person, masked number) of a view; a push's rejected rows have no person."""
    if view.person_id:
        return view.person.name, view.person.masked_id_number
    return _("Rejected rows of push #%(n)s") % {"n": view.push_id}, ""


@_auditor
def export(request):
    """The current tab and filters as an Excel file (at most 20 000 rows); identity numbers masked,
    bank accounts shown by their last four digits."""
    f = Filters.from_query(request.GET)
    tab = request.GET.get("tab") or "log"
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M")
    if tab == "id_views":
        headers = [_("viewed at"), _("operator"), _("person"), _("identity number"), _("channel"), _("where"), _("why")]
        rows = ([_local(v.viewed_at), _user(v.user), *_whose(v), v.get_channel_display(), v.context, v.reason]
                for v in selectors.id_number_views(request.user, f)[:EXPORT_LIMIT])
        return exports.xlsx_response(f"id_number_views_{stamp}.xlsx", headers, rows, title=_("Full-number views"))
    if tab == "list_exports":
        headers = [_("exported at"), _("operator"), _("list"), _("filter"), _("rows"), _("format")]
        rows = ([_local(e.exported_at), _user(e.user), selectors.list_label(e.list_name),
                 selectors.describe_export_filters(e.filters, e.list_name), e.rows, e.file_format]
                for e in selectors.list_exports(request.user, f)[:EXPORT_LIMIT])
        return exports.xlsx_response(f"list_exports_{stamp}.xlsx", headers, rows, title=_("List exports"))
    if tab == "bank_changes":
        def account(text):
            return ("*" * max(len(text) - 4, 0) + text[-4:]) if text else ""

        headers = [_("changed at"), _("operator"), _("person"), _("identity number"), _("old bank"), _("old account"),
                   _("old account holder"), _("new bank"), _("new account"), _("new account holder")]
        rows = ([_local(c.changed_at), _user(c.changed_by), c.person.name, c.person.masked_id_number, c.old_bank_name,
                 account(c.old_bank_account), c.old_account_holder, c.new_bank_name, account(c.new_bank_account),
                 c.new_account_holder] for c in selectors.bank_account_changes(request.user, f)[:EXPORT_LIMIT])
        return exports.xlsx_response(f"bank_account_changes_{stamp}.xlsx", headers, rows, title=_("Bank-account changes"))
    if tab == "simulations":
        headers = [_("started at"), _("operator"), _("policy version"), _("title"), _("region"), _("year"),
                   _("status"), _("person-years"), _("finished at"), _("shown when published")]
        rows = ([_local(s.created_at), _user(s.created_by), s.version.document_number, s.version.title,
                 f"{s.region.name} ({s.region_id})", s.year, s.get_status_display(), s.person_years,
                 _local(s.finished_at), _("yes") if s.version.published_simulation_id == s.pk else ""]
                for s in selectors.policy_simulations(request.user, f)[:EXPORT_LIMIT])
        return exports.xlsx_response(f"policy_simulations_{stamp}.xlsx", headers, rows, title=_("Policy simulations"))
    headers = [_("time"), _("operator"), _("channel"), _("kind"), _("object"), _("action"), _("field"), _("old value"),
               _("new value")]

    def rows():
        done = 0
        while done < EXPORT_LIMIT:
            chunk = selectors.history_rows(request.user, f, offset=done, limit=500)
            if not chunk:
                return
            for e in selectors.explain(chunk, for_export=True):
                base = [_local(e.at), e.operator, e.channel_label, e.kind_label, e.obj_label, e.action_label]
                if not e.changes:
                    yield base + ["", "", ""]
                for c in e.changes:
                    yield base + [c.label, c.old, c.new]
            done += len(chunk)
            if len(chunk) < 500:
                return

    return exports.xlsx_response(f"audit_log_{stamp}.xlsx", headers, rows(), title=_("Audit log"))
