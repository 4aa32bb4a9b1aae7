"""Password guessing is slowed down on every way in (web, admin, API token) by django-axes:
issue 13 finding 4."""
import datetime
import threading

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.lockout import client_address, normalise_username
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN_WAYS = {
    "web": ("/accounts/login/", False),
    "admin": ("/admin/login/", False),
    "token": ("/api/v1/auth/token/", True),
}


def attempt(way: str, username: str, password: str, *, address: str = "10.0.0.7", client=None, **extra):
    path, is_api = LOGIN_WAYS[way]
    if is_api:
        api = client or APIClient(REMOTE_ADDR=address, **extra)
        return api.post(path, {"username": username, "password": password}, format="json")
    web = client or Client(REMOTE_ADDR=address, **extra)
    return web.post(path, {"username": username, "password": password, "next": "/"})


def signed_in(way: str, response) -> bool:
    if way == "token":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302


@pytest.mark.parametrize("way", LOGIN_WAYS)
def test_five_failures_lock_the_username_even_for_the_right_password(way):
    make_user("caseworker", username="victim", superuser=True)
    for _ in range(5):
        assert not signed_in(way, attempt(way, "victim", "wrong"))
    response = attempt(way, "victim", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(way, response)
    assert int(response["Retry-After"]) > 0
    if way != "token":
        assert "失败次数过多" in response.content.decode()


@pytest.mark.parametrize("way", LOGIN_WAYS)
@pytest.mark.parametrize("spelling", ["victim ", " victim", "VICTIM", "ｖｉｃｔｉｍ", "Victim\t"])
def test_a_padded_or_recased_username_counts_as_the_same_username(way, spelling):
    make_user("caseworker", username="victim", superuser=True)
    for _ in range(5):
        attempt(way, spelling, "wrong")
    assert attempt(way, "victim", PASSWORD).status_code == 429


def test_the_ways_in_share_one_count():
    make_user("caseworker", username="victim", superuser=True)
    attempt("web", "victim", "x")
    attempt("admin", "victim ", "x")
    attempt("token", "VICTIM", "x")
    attempt("web", "victim", "x")
    attempt("token", "victim", "x")
    assert attempt("admin", "victim", PASSWORD).status_code == 429


def test_fewer_failures_do_not_lock_and_success_clears_them():
    make_user("caseworker", username="typo")
    for _ in range(4):
        attempt("web", "typo", "wrong")
    assert attempt("web", "typo", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="typo").exists()
    for _ in range(4):
        attempt("web", "typo", "wrong")
    assert attempt("web", "typo", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off_and_the_next_one_lasts_twice_as_long():
    make_user("caseworker", username="victim")
    for _ in range(5):
        attempt("web", "victim", "wrong")
    assert attempt("web", "victim", PASSWORD).status_code == 429
    # five minutes later the first lock-out is over
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=5, seconds=5))
    for _ in range(5):
        attempt("web", "victim", "wrong")
    refused = attempt("web", "victim", PASSWORD)
    assert refused.status_code == 429
    assert 9 * 60 < int(refused["Retry-After"]) <= 10 * 60
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=6))
    assert attempt("web", "victim", PASSWORD).status_code == 429  # still locked: the second lasts 10
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=10, seconds=5))
    assert attempt("web", "victim", PASSWORD).status_code == 302


def test_refused_attempts_during_a_lock_do_not_prolong_it():
    make_user("caseworker", username="victim")
    for _ in range(5):
        attempt("web", "victim", "wrong")
    for _ in range(10):
        assert attempt("web", "victim", "wrong").status_code == 429
    assert sum(AccessAttempt.objects.filter(username="victim").values_list("failures_since_start", flat=True)) == 5


def test_an_administrator_unlocks_a_username():
    from django.core.management import call_command

    make_user("caseworker", username="victim")
    for _ in range(5):
        attempt("web", "victim", "wrong")
    assert attempt("web", "victim", PASSWORD).status_code == 429
    call_command("axes_reset_username", "victim")
    assert attempt("web", "victim", PASSWORD).status_code == 302


def test_the_admin_lists_the_locked_usernames_for_an_administrator_to_delete():
    admin = make_user("caseworker", username="root", superuser=True)
    for _ in range(5):
        attempt("web", "victim", "wrong")
    web = Client()
    web.force_login(admin)
    page = web.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "victim" in page.content.decode()
    row = AccessAttempt.objects.get(username="victim")
    web.post(f"/admin/axes/accessattempt/{row.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.filter(username="victim").exists()


def test_made_up_usernames_from_one_address_do_not_lock_real_users_elsewhere():
    make_user("caseworker", username="real")
    for i in range(40):
        attempt("web", f"nobody{i}", "guess", address="203.0.113.9")
    assert attempt("web", "real", PASSWORD, address="198.51.100.20").status_code == 302
    # the spraying address itself is refused now
    assert attempt("web", "someone", "guess", address="203.0.113.9").status_code == 429


def test_an_office_user_who_signed_in_there_before_is_not_locked_by_made_up_usernames_from_that_address():
    make_user("caseworker", username="clerk")
    office = "198.51.100.30"
    assert attempt("web", "clerk", PASSWORD, address=office).status_code == 302
    for i in range(40):
        attempt("web", f"nobody{i}", "guess", address=office)
    assert attempt("web", "clerk", PASSWORD, address=office).status_code == 302


@override_settings(PORTAL_TRUSTED_PROXIES=["10.1.0.0/16"])
def test_behind_the_load_balancer_the_client_address_is_the_forwarded_one():
    make_user("caseworker", username="real")
    lb = "10.1.2.3"
    for i in range(40):
        attempt("web", f"nobody{i}", "guess", address=lb, HTTP_X_FORWARDED_FOR="203.0.113.9")
    # another client through the same load balancer is not affected
    assert attempt("web", "real", PASSWORD, address=lb, HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 302
    assert attempt("web", "other", "x", address=lb, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429


def test_client_address_believes_x_forwarded_for_only_from_trusted_proxies():
    rf = RequestFactory()
    with override_settings(PORTAL_TRUSTED_PROXIES=[]):
        assert client_address(rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "10.1.2.3"
    with override_settings(PORTAL_TRUSTED_PROXIES=["10.1.0.0/16", "10.9.9.9"]):
        # a client cannot choose its address by writing the header itself: the right-most untrusted hop counts
        assert client_address(rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")) == "1.2.3.4"
        assert client_address(rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.9.9.9")) == "1.2.3.4"
        assert client_address(rf.get("/", REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "8.8.8.8"
        assert client_address(rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="junk")) == "10.1.2.3"


def test_normalised_username():
    assert normalise_username(" GZ_Tax\t") == normalise_username("ｇｚ_ｔａｘ") == "gz_tax"


def test_csrf_is_enforced_on_login():
    make_user("caseworker", username="csrf")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("login"), {"username": "csrf", "password": PASSWORD}).status_code == 403


def _guess_in_parallel(n: int) -> list:
    """n wrong passwords for one username at once, each in its own thread and connection."""
    barrier = threading.Barrier(n)
    results = []
    checked = []
    from django.contrib.auth.backends import ModelBackend

    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kw):
        checked.append(username)
        return original(self, request, username=username, password=password, **kw)

    def one():
        try:
            request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.8")
            barrier.wait()
            results.append(authenticate(request, username="victim", password="wrong"))
        finally:
            connection.close()

    ModelBackend.authenticate = counting
    try:
        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        ModelBackend.authenticate = original
    return checked


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_parallel_guesses_against_a_limit_of_five_check_at_most_five_passwords():
    make_user("caseworker", username="victim")
    checked = _guess_in_parallel(20)
    assert len(checked) == 5
    assert sum(AccessAttempt.objects.filter(username="victim").values_list("failures_since_start", flat=True)) == 5
    assert attempt("web", "victim", PASSWORD).status_code == 429
