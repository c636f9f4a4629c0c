"""Signing a test client in to the console's pages, the way a browser does: the sign-in form's
CSRF token with its cookie, then the session's token from any page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, key: str) -> str:
    """Sign in; returns the session's CSRF token for form posts."""
    form = client.get("/login")
    response = client.post("/login", data={"key": key, "csrf": csrf_of(form.text)})
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/devices").text)
