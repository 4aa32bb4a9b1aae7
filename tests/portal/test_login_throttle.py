"""Password guessing is slowed down: five failures lock the username for the window."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.accounts.models import LoginFailure
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_five_failures_lock_the_username_even_for_the_right_password(client):
    make_user("caseworker", username="victim")
    for _ in range(5):
        client.post(reverse("login"), {"username": "victim", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "victim", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "失败次数过多" in response.content.decode()


def test_fewer_failures_do_not_lock_and_success_clears_them(client):
    make_user("caseworker", username="typo")
    for _ in range(4):
        client.post(reverse("login"), {"username": "typo", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "typo", "password": PASSWORD})
    assert response.status_code == 302
    assert not LoginFailure.objects.filter(username="typo").exists()


def test_api_token_endpoint_is_throttled_too():
    make_user("caseworker", username="apiuser")
    api = APIClient()
    for _ in range(5):
        assert api.post("/api/v1/auth/token/", {"username": "apiuser", "password": "x"}, format="json").status_code == 400
    response = api.post("/api/v1/auth/token/", {"username": "apiuser", "password": PASSWORD}, format="json")
    assert response.status_code == 429


def test_csrf_is_enforced_on_login():
    from django.test import Client

    make_user("caseworker", username="csrf")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("login"), {"username": "csrf", "password": PASSWORD}).status_code == 403
