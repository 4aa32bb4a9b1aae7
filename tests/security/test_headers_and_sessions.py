"""Headers, sessions and API tokens (issue 13: Content-Security-Policy, Swagger UI from static files,
schema not anonymous, idle sessions, tokens that expire and are revoked)."""
import datetime
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def user():
    return make_user("caseworker", username="cw_headers")


@pytest.fixture
def web(user):
    c = Client()
    c.force_login(user)
    return c


def test_every_page_sends_a_content_security_policy_without_inline_scripts(web):
    response = web.get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_no_template_has_an_inline_script_or_event_attribute():
    offenders = []
    for path in (REPO / "templates").rglob("*.html"):
        text = path.read_text()
        if (re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text)
                or "javascript:" in text or re.search(r"\sstyle\s*=", text) or re.search(r"<style[\s>]", text)):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_swagger_ui_comes_from_static_files_not_a_cdn(web):
    page = web.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "@latest" not in html
    assert re.search(r'src="/static/drf[-_]spectacular[-_]sidecar/swagger-ui-dist/swagger-ui-bundle\.js"', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # its start-up script is a file too


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_docs_are_not_open_to_anonymous_users(client, path):
    response = client.get(path)
    assert response.status_code in (302, 401, 403)
    assert b"openapi" not in response.content


def test_the_schema_is_served_to_a_signed_in_user(web):
    assert web.get("/api/schema/").status_code == 200


def test_a_session_idle_longer_than_the_limit_is_signed_out(web, settings):
    assert web.get("/").status_code == 200
    session = web.session
    session["_portal_seen"] -= settings.PORTAL_SESSION_IDLE_MINUTES * 60 + 5
    session.save()
    response = web.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_active_session_stays(web, settings):
    assert web.get("/").status_code == 200
    session = web.session
    session["_portal_seen"] -= settings.PORTAL_SESSION_IDLE_MINUTES * 60 - 120
    session.save()
    assert web.get("/").status_code == 200


def _token(user) -> str:
    api = APIClient()
    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()["token"]


def _me(key: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api.get("/api/v1/me/").status_code


def test_an_api_token_expires(user, settings):
    key = _token(user)
    assert _me(key) == 200
    Token.objects.filter(key=key).update(created=timezone.now() - datetime.timedelta(hours=settings.PORTAL_API_TOKEN_HOURS, seconds=1))
    assert _me(key) in (401, 403)
    assert _token(user) != key  # a new one is issued


def test_an_api_token_is_revoked_by_the_api_logout(user):
    key = _token(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/auth/logout/").status_code == 204
    assert _me(key) in (401, 403)


def test_an_api_token_is_revoked_by_a_web_logout(user):
    key = _token(user)
    web = Client()
    assert web.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    web.post("/accounts/logout/")
    assert _me(key) in (401, 403)


def test_an_api_token_is_revoked_when_the_password_changes(user):
    key = _token(user)
    web = Client()
    web.force_login(user)
    response = web.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Another#Pass2027",
                                                "new_password2": "Another#Pass2027"})
    assert response.status_code == 302
    assert _me(key) in (401, 403)


def test_saving_a_user_without_a_password_change_keeps_the_token(user):
    key = _token(user)
    user.full_name = "改名"
    user.save()
    assert _me(key) == 200
