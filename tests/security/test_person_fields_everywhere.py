"""Each role sees only the person fields it needs — in every answer, not only the person page
(issue 13: "财政, 税务 and 退役军人 liaisons see every person's bank account and phone number").

``cases.access.PERSON_FIELD_ROLES`` says who sees a person's phone and bank details (bureau roles).
For every role that rule leaves out (every department's liaison), every page, API operation and
download found in the URLconf (both formats of each), with the role's own region's objects, must
carry no phone number and no bank account of any person, no payee account of any case and no
account of any payment line. A bureau role sees them (so the check can fail).
"""
from __future__ import annotations

import pytest

from cases.access import BUREAU_ROLES, PERSON_FIELD_ROLES
from cases.models import Application, PaymentLine

from .discovery import endpoints
from .matrix import ROLES, client_for, url_sets
from .probe import body_text

pytestmark = pytest.mark.django_db

REGION = "360700"
#: Roles of the world that PERSON_FIELD_ROLES leaves without contact and bank fields.
HIDDEN_FROM = [r for r in ROLES if r.startswith("liaison_")]
GETS = [e for e in endpoints() if "GET" in e.methods and not e.route.startswith(("api/schema", "api/docs", "i18n/"))]


def _secrets(side) -> dict[str, str]:
    out = {}
    for p in side.persons:
        p.refresh_from_db()
        if p.phone:
            out[p.phone] = f"phone of {p.name}"
        if p.bank_account:
            out[p.bank_account] = f"bank account of {p.name}"
    for field in ("payee_account", "approved_payee_account"):
        for number, value in Application.objects.exclude(**{field: ""}).values_list("number", field):
            out[value] = f"{field} of case {number}"
    for pk, value in PaymentLine.objects.exclude(payee_account="").values_list("pk", "payee_account"):
        out[value] = f"account of payment line {pk}"
    return out


def test_the_rule_hides_phone_and_bank_fields_from_every_liaison():
    assert set(PERSON_FIELD_ROLES) >= {"phone", "bank_account", "bank_name", "account_holder"}
    assert all(set(roles) <= set(BUREAU_ROLES) and "liaison" not in roles for roles in PERSON_FIELD_ROLES.values())


@pytest.mark.parametrize("role", HIDDEN_FROM)
@pytest.mark.parametrize("endpoint", GETS, ids=[f"GET /{e.route}" for e in GETS])
def test_no_answer_shows_a_liaison_phone_or_bank_details(world, endpoint, role):
    side = world.side(REGION)
    secrets = _secrets(side)
    assert len(secrets) >= len(side.persons)
    client = client_for(world, role, REGION, api=endpoint.api)
    shown = []
    queries = [{}]
    if endpoint.is_export and not endpoint.has_ids:
        queries.append({"department": role.removeprefix("liaison_")})
    for url, _kw in url_sets(endpoint, side):
        for query in queries:
            response = client.get(url, query)
            text = body_text(response)
            leaked = sorted({what for value, what in secrets.items() if value in text})
            if leaked:
                shown.append(f"{url} {query or ''} ({response.status_code}): {leaked[:3]}")
    assert not shown, f"{role} is shown contact or bank details: {shown}"


def test_a_bureau_role_does_see_them(world):
    """The control: the same secrets are found where a caseworker looks (the person page and API)."""
    side = world.side(REGION)
    secrets = _secrets(side)
    person = side.persons[0]
    seen = set()
    for api, url in ((False, f"/cases/persons/{person.pk}/"), (True, f"/api/v1/persons/{person.pk}/")):
        text = body_text(client_for(world, "caseworker", REGION, api=api).get(url))
        seen |= {what for value, what in secrets.items() if value in text}
    assert f"phone of {person.name}" in seen and f"bank account of {person.name}" in seen
