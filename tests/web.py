"""Helpers for tests that use the portal's pages as a signed-in user."""
from __future__ import annotations


def page(client, user, url, **kwargs):
    """GET ``url`` as ``user``: (response, body text)."""
    client.force_login(user)
    response = client.get(url, **kwargs)
    return response, response.content.decode()


def post(client, user, url, data, **kwargs):
    """POST ``data`` to ``url`` as ``user``: (response, body text)."""
    client.force_login(user)
    response = client.post(url, data, **kwargs)
    return response, response.content.decode()
