"""The console's pages: signed in with the admin key only, every form guarded by a CSRF token,
and each form doing what its API call does, with refusals shown on the page."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lensbox.console.app import create_app
from lensbox.console.settings import ConsoleSettings
from lensbox.manifest import zip_package
from tests.helpers import add_bad_files, make_imagefolder, zip_folder
from tests.helpers.onnx_models import colour_package
from tests.helpers.web import csrf_of, sign_in

PAGES = ["/devices", "/projects", "/models", "/deployments", "/training", "/league", "/studio"]
FORMS = [
    "/models", "/projects", "/devices", "/devices/cam/deploy", "/devices/cam/rollback",
    "/devices/cam/group", "/training/datasets", "/training/jobs", "/league", "/league/training",
    "/studio", "/logout", "/projects/sorter",
]  # fmt: skip


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    return create_app(ConsoleSettings(data=tmp_path / "c"))


def test_pages_need_a_sign_in_and_a_device_token_is_not_one(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    device = client.post(
        "/api/v1/devices", json={"name": "cam"},
        headers={"Authorization": f"Bearer {app.state.new_admin_key}"},
    ).json()  # fmt: skip
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 303 and response.headers["location"] == "/login"
        as_device = client.get(page, headers={"Authorization": f"Bearer {device['token']}"})
        assert as_device.status_code == 303, page
        with_cookie = TestClient(
            app, follow_redirects=False, cookies={"lensbox_session": device["token"]}
        )
        assert with_cookie.get(page).status_code == 303, page
    form = client.get("/login")
    wrong = client.post("/login", data={"key": "nope", "csrf": csrf_of(form.text)})
    assert wrong.status_code == 401 and "not the admin key" in wrong.text
    sign_in(client, app.state.new_admin_key)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Sign out" in response.text and 'name="csrf"' in response.text
    assert client.get("/devices/nobody").status_code == 404


def test_cookies_are_httponly_and_strict_and_sign_in_needs_its_csrf_token(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    form = client.get("/login")
    assert re.search(
        r"lensbox_login_csrf=.*HttpOnly.*SameSite=strict", form.headers["set-cookie"], re.I
    )
    forged = client.post("/login", data={"key": app.state.new_admin_key, "csrf": "forged"})
    assert forged.status_code == 403
    client.cookies.clear()
    no_cookie = client.post(
        "/login", data={"key": app.state.new_admin_key, "csrf": csrf_of(form.text)}
    )
    assert no_cookie.status_code == 403
    form = client.get("/login")
    ok = client.post("/login", data={"key": app.state.new_admin_key, "csrf": csrf_of(form.text)})
    cookie = ok.headers["set-cookie"]
    assert "lensbox_session=" in cookie and "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()


def test_every_form_post_without_the_csrf_token_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    for form in FORMS:
        assert client.post(form, data={}).status_code == 403, form
        assert client.post(form, data={"csrf": csrf[:-1] + "x"}).status_code == 403, form
    signed_out = client.post("/logout", data={"csrf": csrf})
    assert signed_out.status_code == 303
    assert client.get("/devices").status_code == 303  # the session ended


def test_model_project_and_device_forms(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    package = colour_package(tmp_path / "pkg", name="sorter-model").root
    (package / "report.html").write_text("<html><body><h1>curves here</h1></body></html>")
    archive = zip_package(package, tmp_path / "pkg.zip").read_bytes()

    bad = client.post("/models", data={"csrf": csrf}, files={"file": ("x.zip", b"not a zip")})
    assert bad.status_code == 400 and "not a zip file" in bad.text
    uploaded = client.post("/models", data={"csrf": csrf}, files={"file": ("pkg.zip", archive)})
    assert uploaded.status_code == 303
    model_page = client.get(uploaded.headers["location"])
    assert "label-search" in model_page.text and "/report" in model_page.text
    model_id = uploaded.headers["location"].rsplit("/", 1)[1]
    report = client.get(f"/models/{model_id}/report")
    assert "curves here" in report.text and "sandbox" in report.headers["content-security-policy"]
    assert client.get(f"/models/{model_id}/download").content == archive

    created = client.post(
        "/projects",
        data={"csrf": csrf, "name": "sorter", "model_id": model_id, "template": "trash-sorter"},
    )
    assert created.status_code == 303 and created.headers["location"] == "/projects/sorter"
    duplicate = client.post(
        "/projects", data={"csrf": csrf, "name": "sorter", "model_id": model_id}
    )
    assert duplicate.status_code == 400 and "exists" in duplicate.text
    page = client.get("/projects/sorter").text
    assert 'name="config.min_confidence"' in page and 'name="config.bins"' in page
    refused = client.post(
        "/projects/sorter",
        data={"csrf": csrf, "config.min_confidence": "high", "config.bins": "{oops"},
    )
    assert refused.status_code == 400
    assert "&#39;high&#39; is not a number" in refused.text and 'id="error-bins"' in refused.text
    saved = client.post(
        "/projects/sorter",
        data={
            "csrf": csrf, "model_id": model_id, "config.min_confidence": "0.8",
            "config.bins": '{"red": "recycling"}', "config.default_bin": "landfill",
            "config.keywords": "{}", "config.uncertain_bin": "check",
        },
    )  # fmt: skip
    assert saved.status_code == 303
    project = client.get(
        "/api/v1/projects/sorter", headers={"Authorization": f"Bearer {app.state.new_admin_key}"}
    ).json()
    assert project["version"] == 2 and project["config"]["min_confidence"] == 0.8
    assert project["config"]["bins"] == {"red": "recycling"}

    added = client.post("/devices", data={"csrf": csrf, "name": "cam", "group": "kitchen"})
    assert added.status_code == 201
    token = re.search(r'id="device-token">([^<]+)<', added.text).group(1)
    command = re.search(r'id="agent-command">([^<]+)<', added.text).group(1)
    assert f"--token {token}" in command and "--console http://testserver" in command
    again = client.get("/devices").text
    assert token not in again  # shown once
    deployed = client.post("/devices/cam/deploy", data={"csrf": csrf, "project": "sorter"})
    assert deployed.status_code == 303
    live = client.get("/devices/cam/results.json").json()
    assert live["deployment"]["project"] == "sorter" and live["deployment"]["status"] == "pending"
    nothing_before = client.post("/devices/cam/rollback", data={"csrf": csrf})
    assert nothing_before.status_code == 400 and "no previous deployment" in nothing_before.text
    moved = client.post("/devices/cam/group", data={"csrf": csrf, "group": "garage"})
    assert moved.status_code == 303
    assert "garage" in client.get("/devices/cam").text


def test_dataset_form_shows_the_check_report_and_bad_training_options(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    data = make_imagefolder(tmp_path / "bins", per_class=4)
    add_bad_files(data)
    uploaded = client.post(
        "/training/datasets",
        data={"csrf": csrf},
        files={"file": ("bins.zip", zip_folder(data, "bins/"))},
    )
    assert uploaded.status_code == 303
    page = client.get(uploaded.headers["location"]).text
    assert "<td>compost</td><td>4</td>" in page and "5 bad files" in page
    assert page.count("<tr><td><code>") == 5  # each bad file with its reason
    refused = client.post(
        "/training/jobs", data={"csrf": csrf, "dataset_id": "1", "epochs": "many"}
    )
    assert refused.status_code == 400 and "whole numbers" in refused.text
    unsafe = client.post(
        "/training/datasets", data={"csrf": csrf}, files={"file": ("x.zip", b"PK\x03\x04junk")}
    )
    assert unsafe.status_code == 400


def test_reward_function_errors_are_shown_at_their_line(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    broken = "def reward_function(params):\n    speed = params['speed']\n    return speed / 0\n"
    response = client.post(
        "/league/training", data={"csrf": csrf, "reward": broken, "track": "Oval_track"}
    )
    assert response.status_code == 400
    message = re.search(r'id="reward-error">([^<]+)<', response.text).group(1)
    assert message.startswith("Line 3: error: reward.py:3: ZeroDivisionError")
    assert "speed / 0" in response.text  # the text is kept for fixing
    assert not list((Path(app.state.settings.data) / "racer-jobs").glob("*/reward.py"))


@pytest.mark.slow
def test_a_checked_reward_function_trains_a_car_that_appears_under_models(app) -> None:  # type: ignore[no-untyped-def]
    from lensbox.console.routers.web_league import EXAMPLE_REWARD

    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    started = client.post(
        "/league/training",
        data={"csrf": csrf, "reward": EXAMPLE_REWARD, "track": "Oval_track", "minutes": "0.2"},
    )
    assert started.status_code == 303
    status = Path(app.state.settings.data) / "racer-jobs" / "1" / "status.json"
    deadline = time.monotonic() + 240
    while '"running"' in status.read_text() and time.monotonic() < deadline:
        time.sleep(1)
    job = json.loads(status.read_text())
    assert job["status"] == "succeeded", job
    model = client.get(f"/models/{job['model_id']}")
    assert model.status_code == 200 and "drive" in model.text
    assert f'href="/models/{job["model_id"]}"' in client.get("/league").text
