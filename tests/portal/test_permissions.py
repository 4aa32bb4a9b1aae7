"""Permissions are declared once (portal.permissions) and the menu, the pages and the API agree.

For every role (and every department's liaison): each menu entry shown opens (200); each page that
the role can open is in its menu or linked from a page that is; each page it cannot open answers
403 — so a page cannot be open to a role whose menu does not lead there (the drift of issue 10:
caseworkers could open the dashboards, reviewers the recoveries, anyone signed in every exchange
page).
"""
from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.permissions import PERMISSIONS, allowed
from portal.roles.domain import DepartmentCode, Role
from portal.roles.menu import items_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NAMESPACES = ("cases", "exchange", "monitoring", "enrolment", "reporting", "policies", "audit")

#: Pages reached from another page rather than from the menu: page → the pages linking to it.
EXCHANGE_TABS = ("exchange:push_list", "exchange:confirmation_list", "monitoring:warning_list",
                 "enrolment:subsidy_lists", "exchange:deliveries")
LINKED_FROM = {
    # the exchange's tabs (templates/exchange/_tabs.html, each shown to who may open it) on each of them
    **{tab: EXCHANGE_TABS for tab in EXCHANGE_TABS},
    "cases:person_new": ("cases:persons",),
    "cases:claim_import_template": ("cases:claim_import",),
    "cases:queue_export": ("cases:queue",),
    "cases:persons_export": ("cases:persons",),
    # the payment tabs (templates/cases/_pay_tabs.html) on the batch list and the to-pay list
    "cases:payment_lines": ("cases:batches", "cases:payments"),
    # each list's "export this list" link (templates/portal/_list_total.html)
    "cases:payment_lines_export": ("cases:payment_lines",),
    "exchange:push_export": ("exchange:push_list",),
    "monitoring:warning_list_export": ("monitoring:warning_list",),
    "exchange:home": EXCHANGE_TABS,
    "exchange:push_new": ("exchange:push_list",),
    "monitoring:runs": ("monitoring:warning_list",),
    "enrolment:standards": ("enrolment:subsidy_lists",),
    "reporting:budgets": ("reporting:dashboard",),
    "audit:id_views": ("audit:log",),
    "audit:bank_changes": ("audit:log",),
    "audit:list_exports": ("audit:log",),
    "audit:export": ("audit:log",),
    "audit:simulations": ("audit:log",),
}
#: Pages with no GET of their own (forms posted from another page) or that need an object to show.
NOT_OPENED = {"cases:queue_bulk", "cases:id_number_check", "policies:version-import", "policies:version-new",
              "exchange:confirmation_new"}

BUREAU_ROLES = [Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.PAYMENT_OFFICER, Role.AUDITOR, Role.POLICY_ADMIN,
                Role.SUPERVISOR]
LIAISONS = [d for d in DepartmentCode if d != DepartmentCode.MEDICAL_SECURITY]
WHO = [(str(r), None) for r in BUREAU_ROLES] + [("liaison", str(d)) for d in LIAISONS]


def pages():
    """(name, view) of every page of the four parts, with ``has_args``."""
    out = []
    for ns in NAMESPACES:
        resolver = get_resolver().namespace_dict[ns][1]
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):  # pragma: no cover - the parts have flat url modules
                continue
            assert isinstance(pattern, URLPattern)
            out.append((f"{ns}:{pattern.name}", pattern.callback, bool(pattern.pattern.regex.groupindex)))
    return out


def user_for(role, department):
    return make_user(role, region="360700", department=department)


def reachable(user, shown: set[str]) -> set[str]:
    """The pages a user's menu leads to: its entries and the pages linked from them."""
    found = set(shown)
    changed = True
    while changed:
        changed = False
        for page, parents in LINKED_FROM.items():
            if page not in found and any(p in found for p in parents):
                found.add(page)
                changed = True
    return found


def test_every_page_declares_its_permission():
    missing = [name for name, view, _args in pages() if getattr(view, "permission", None) not in PERMISSIONS]
    assert not missing, f"pages gated only by sign-in (use portal.permissions.permission_required): {missing}"


@pytest.mark.parametrize(("role", "department"), WHO, ids=[f"{r}-{d}" if d else r for r, d in WHO])
def test_menu_and_pages_agree(client, role, department):
    user = user_for(role, department)
    client.force_login(user)
    menu = items_for(user)
    for item in menu:
        response = client.get(item["url"])
        assert response.status_code == 200, f"{role}: menu entry {item['label']} ({item['url']}) answers {response.status_code}"
    shown_names = {name for name, view, has_args in pages() if not has_args
                   and any(item["url"].split("?")[0] == reverse(name) for item in menu)}
    leads_to = reachable(user, shown_names)
    for name, view, has_args in pages():
        if has_args or name in NOT_OPENED:
            continue
        may = allowed(user, view.permission)
        status = client.get(reverse(name)).status_code
        if may:
            assert status == 200, f"{role}/{department}: {name} ({view.permission}) answers {status}"
            assert name in leads_to, f"{role}/{department} may open {name} but no menu entry leads there"
        else:
            assert status == 403, f"{role}/{department}: {name} ({view.permission}) answers {status}, not 403"


def test_the_drift_of_issue_10_is_gone(client):
    """Caseworkers opened the dashboards their menu did not show; reviewers the recoveries."""
    caseworker = make_user("caseworker")
    client.force_login(caseworker)
    assert client.get(reverse("reporting:dashboard")).status_code == 403
    assert client.get(reverse("exchange:push_list")).status_code == 403
    reviewer = make_user("reviewer")
    client.force_login(reviewer)
    assert reverse("cases:recoveries") in {i["url"] for i in items_for(reviewer)}
    assert client.get(reverse("cases:recoveries")).status_code == 200


def test_a_permission_asked_about_a_region_covers_it_and_below_only():
    reviewer = make_user("reviewer", region="360700")
    assert allowed(reviewer, "cases.review_case", "360702")
    assert not allowed(reviewer, "cases.review_case", "130900")
    assert not allowed(reviewer, "cases.approve_case", "360702")
    assert reviewer.has_perm("cases.review_case") and not reviewer.has_perm("policies.edit_version")


def test_a_liaison_answers_only_for_their_own_department():
    from types import SimpleNamespace

    civil = make_user("liaison", department="civil_affairs")
    asked_civil = SimpleNamespace(region_id="360702", department_id="civil_affairs")
    asked_veterans = SimpleNamespace(region_id="360702", department_id="veterans_affairs")
    assert allowed(civil, "exchange.answer_confirmation", asked_civil)
    assert not allowed(civil, "exchange.answer_confirmation", asked_veterans)


def test_the_api_reads_the_views_declared_permission():
    from portal.permissions import DeclaredPermission

    class View:
        permission_required = "audit.view_log"

    auditor, caseworker = make_user("auditor"), make_user("caseworker")
    assert DeclaredPermission().has_permission(type("R", (), {"user": auditor})(), View())
    assert not DeclaredPermission().has_permission(type("R", (), {"user": caseworker})(), View())
