"""No inline style or script in what the pages really render (issue 13: Content-Security-Policy).

The policy refuses inline styles and scripts (``style-src 'self'``, ``script-src 'self'``, no
``'unsafe-inline'``), so a ``style="…"`` attribute, a ``<style>`` element, an inline ``<script>``
or an ``on…=`` handler would be silently ignored by the browser (a progress bar that never moves, a
button that does nothing). Every page found in the URLconf, rendered for every role of its own
region with the world's objects, is checked for them — the template scan in
``test_headers_and_sessions.py`` cannot see what includes and template tags put in.
"""
from __future__ import annotations

import re

import pytest

from .discovery import endpoints
from .matrix import ROLES, client_for, url_sets

pytestmark = pytest.mark.django_db

REGION = "360700"
SIGNED_IN = [r for r in ROLES if r != "anonymous"]
PAGES = [e for e in endpoints() if not e.api and "GET" in e.methods and not e.is_export
         and not e.route.startswith(("i18n/", "api/schema"))]

INLINE = [
    ("style attribute", re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.S)),
    ("<style> element", re.compile(r"<style[\s>]", re.I)),
    ("inline <script>", re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)),
    ("on…= handler", re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)),
    ("javascript: URL", re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.I)),
]


def offences(html: str) -> list[str]:
    found = []
    for what, pattern in INLINE:
        m = pattern.search(html)
        if m:
            found.append(f"{what}: {html[max(0, m.start() - 40):m.end() + 40]!r}")
    return found


def test_the_checks_find_what_they_look_for():
    assert offences('<div class="progress"><div style="width: 5%"></div></div>')
    assert offences("<script>alert(1)</script>") and offences('<button onclick="x()">')
    assert offences("<style>body{}</style>")
    assert not offences('<script src="/static/portal/portal.js"></script><p class="pct-5">style= in text</p>')


def test_the_policy_refuses_inline_styles_and_scripts(client):
    from tests.factories import make_user

    client.force_login(make_user("caseworker", region="360700"))
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    for name in ("style-src", "script-src"):
        assert "'unsafe-inline'" not in directives[name] and directives[name] == "'self'", policy


@pytest.mark.parametrize("role", SIGNED_IN)
def test_no_page_renders_inline_styles_or_scripts(world, role):
    side = world.side(REGION)
    client = client_for(world, role, REGION, api=False)
    problems, rendered = [], 0
    for endpoint in PAGES:
        for url, _kw in url_sets(endpoint, side)[:2]:
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            rendered += 1
            found = offences(response.content.decode())
            if found:
                problems.append(f"{url}: {found}")
    least = 1 if role == "norole" else 5  # a user without a role opens little more than the home page
    assert rendered >= least, f"{role} rendered only {rendered} pages: the check would prove nothing"
    assert not problems, problems


def test_dashboard_charts_are_svg_images_with_a_policy_of_their_own(client):
    """pygal styles its charts with a <style> element: the dashboard shows each chart as an <img>
    of an SVG answer whose own policy allows its styles and nothing else (no script, nothing loaded)."""
    import xml.etree.ElementTree as ET

    from tests.cases.factories import add_statistics
    from tests.factories import make_user

    add_statistics()
    client.force_login(make_user("policy_admin", region="360700"))
    page = client.get("/exchange/dashboards/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not offences(html), offences(html)
    sources = re.findall(r'<img src="([^"]+\.svg[^"]*)"', html)
    assert len(sources) >= 3
    for src in sources:
        answer = client.get(src.replace("&amp;", "&"))
        assert answer.status_code == 200 and answer["Content-Type"].startswith("image/svg+xml")
        root = ET.fromstring(answer.content)  # one well-formed SVG document, also for a chart of two parts
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        policy = dict(p.strip().split(" ", 1) for p in answer["Content-Security-Policy"].split(";") if p.strip())
        assert policy["script-src"] == "'none'" and policy["default-src"] == "'none'"
