"""CSRF on every browser form, and the cookie / transport settings of production.

* Every page that answers POST (found by walking the URLconf), signed in through the browser's
  session, posting without the CSRF token: 403. The API with session authentication likewise;
  the API with a token (no cookies) does not need one.
* ``portal.settings.production``, imported in a subprocess with a production environment: Secure
  and HttpOnly session cookie, Secure CSRF cookie, HSTS for a year with subdomains, HTTPS
  redirect, nosniff, frame denial — and a response served under those settings carries them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from .discovery import UNSAFE, endpoints
from .matrix import url_sets

REPO = Path(__file__).resolve().parents[2]
REGION = "360700"

POSTS = [e for e in endpoints() if set(e.methods) & set(UNSAFE) and not e.route.startswith("api/")]
API_UNSAFE = [(e, m) for e in endpoints() if e.route.startswith("api/v1/") for m in e.methods if m in UNSAFE
              and e.name != "api-token"]
CSRF_EXEMPT_BY_DESIGN = {"api-token"}  # obtaining a token takes the password, and has no session


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", POSTS, ids=[f"POST /{e.route}" for e in POSTS])
def test_browser_forms_refuse_a_post_without_the_csrf_token(world, endpoint):
    side = world.side(REGION)
    client = Client(enforce_csrf_checks=True)
    client.force_login(side.actors["caseworker"] if not endpoint.route.startswith("policies") else
                       side.actors["policy_admin"])
    for url, _kw in url_sets(endpoint, side)[:1]:
        response = client.post(url, {"reason": "x", "action": "submit"})
        assert response.status_code == 403, (url, response.status_code)
        # refused by the CSRF check, not by a permission check that happens to answer 403 too
        assert b"CSRF" in response.content, (url, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint, method", API_UNSAFE, ids=[f"{m} /{e.route}" for e, m in API_UNSAFE])
def test_api_with_a_session_needs_the_csrf_token_too(world, endpoint, method):
    side = world.side(REGION)
    client = Client(enforce_csrf_checks=True)
    client.force_login(side.actors["caseworker"])
    url = url_sets(endpoint, side)[0][0]
    response = client.generic(method, url, "{}", content_type="application/json")
    assert response.status_code == 403, (url, response.status_code, response.content[:200])
    assert b"CSRF" in response.content


@pytest.mark.django_db
def test_api_with_a_token_needs_no_csrf_token(world):
    side = world.side(REGION)
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {side.tokens['caseworker']}")
    response = client.post("/api/v1/households/", {"region_code": side.county, "head_name": "x"},
                           content_type="application/json")
    assert response.status_code == 201, (response.status_code, response.content[:300])
    assert response.json()["head_name"] == "x"


PROBE = r"""
import json, django
from django.conf import settings
django.setup()
from django.test import Client
out = {name: getattr(settings, name, None) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SECURE_PROXY_SSL_HEADER",
    "SECURE_REFERRER_POLICY", "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE")}
from django.test.utils import override_settings
client = Client(HTTP_HOST="portal.example.gov.cn")
# The page links its CSS through the manifest that collectstatic writes at deploy time; the
# probe uses the plain storage instead (nothing else changes).
plain_static = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=plain_static):
    plain = client.get("/accounts/login/")
    https = client.get("/accounts/login/", secure=True)
cookie = https.cookies.get("csrftoken")
out["http_status"] = plain.status_code
out["http_location"] = plain.get("Location", "")
out["https_status"] = https.status_code
out["hsts"] = https.get("Strict-Transport-Security", "")
out["nosniff"] = https.get("X-Content-Type-Options", "")
out["frame"] = https.get("X-Frame-Options", "")
out["csrf_cookie_secure"] = bool(cookie and cookie["secure"])
print(json.dumps(out, default=str))
"""


def test_production_cookies_and_transport(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.production",
               DJANGO_SECRET_KEY="s" * 20 + "-a-long-random-production-secret-key-0123456789",
               DJANGO_ALLOWED_HOSTS="portal.example.gov.cn", PORTAL_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["DEBUG"] is False
    assert got["SESSION_COOKIE_SECURE"] is True and got["SESSION_COOKIE_HTTPONLY"] is True
    assert got["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert got["CSRF_COOKIE_SECURE"] is True
    assert got["SECURE_HSTS_SECONDS"] >= 31_536_000 and got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert got["SECURE_SSL_REDIRECT"] is True and got["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert got["X_FRAME_OPTIONS"] == "DENY"
    # What a browser actually receives: plain HTTP is sent to HTTPS; HTTPS carries HSTS and a
    # Secure CSRF cookie.
    assert got["http_status"] == 301 and got["http_location"].startswith("https://"), got
    assert got["https_status"] == 200, got
    assert "max-age=31536000" in got["hsts"] and "includeSubDomains" in got["hsts"], got
    assert got["nosniff"] == "nosniff" and got["frame"] == "DENY", got
    assert got["csrf_cookie_secure"] is True, got
