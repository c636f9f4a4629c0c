"""Every console page renders after logging in with the admin key, and none before."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lensbox.console.app import create_app
from lensbox.console.settings import ConsoleSettings

PAGES = ["/devices", "/projects", "/models", "/deployments", "/training"]


def test_pages_need_a_login_and_then_render(tmp_path: Path) -> None:
    app = create_app(ConsoleSettings(data=tmp_path / "c"))
    client = TestClient(app, follow_redirects=False)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    wrong = client.post("/login", data={"key": "nope"})
    assert wrong.status_code == 200 and "not the admin key" in wrong.text
    ok = client.post("/login", data={"key": app.state.new_admin_key})
    assert ok.status_code == 303 and "lensbox_session" in ok.cookies
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "lensbox console" in response.text
    assert client.get("/devices/nobody").status_code == 404
