"""Each role sees only the person fields it needs (cases.access.PERSON_FIELD_ROLES): liaisons of
财政, 税务, 退役军人 (and every other department) see no phone or bank account; bureau roles do."""
import pytest
from rest_framework.test import APIClient

from tests.factories import PersonFactory, make_user
from tests.web import page

pytestmark = pytest.mark.django_db

ACCOUNT = "6222000011113333"
PHONE = "13800138000"


@pytest.fixture
def person():
    return PersonFactory(region_id="360702", phone=PHONE, bank_name="赣州银行", bank_account=ACCOUNT,
                         account_holder="")


def _api(user, person):
    api = APIClient()
    api.force_authenticate(user)
    return api.get(f"/api/v1/persons/{person.pk}/")


@pytest.mark.parametrize("department", ["finance", "tax", "veterans_affairs", "civil_affairs"])
def test_liaisons_see_neither_phone_nor_account(client, person, department):
    liaison = make_user("liaison", region="360700", department=department)
    answer = _api(liaison, person)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["phone"], body["bank_name"], body["bank_account"]) == (None, None, None)
    response, text = page(client, liaison, f"/cases/persons/{person.pk}/")
    assert response.status_code == 200 and ACCOUNT not in text and PHONE not in text


@pytest.mark.parametrize("role", ["caseworker", "reviewer", "payment_officer", "auditor"])
def test_bureau_roles_see_them(client, person, role):
    user = make_user(role, region="360700")
    body = _api(user, person).json()
    assert body["bank_account"] == ACCOUNT and body["phone"] == PHONE
    response, text = page(client, user, f"/cases/persons/{person.pk}/")
    assert response.status_code == 200 and ACCOUNT in text and PHONE in text
