"""The console's league: a drive package entered through the API is evaluated in the
background (a real ``lensbox racer league submit`` process) and ranked with its video."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from lensbox.manifest import zip_package
from tests.helpers.drive_models import constant_driver


def _upload(client: TestClient, package: Path) -> dict:
    archive = zip_package(package, package.with_suffix(".zip"))
    response = client.post(
        "/api/v1/models", files={"file": (archive.name, archive.read_bytes(), "application/zip")}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _wait(client: TestClient, run: dict) -> dict:
    deadline = time.monotonic() + 180
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        run = client.get(f"/api/v1/league/runs/{run['id']}").json()
    return run


def test_submissions_are_evaluated_ranked_and_have_videos(
    client: TestClient, tmp_path: Path
) -> None:
    left = _upload(client, constant_driver(tmp_path / "hard-left", preferred=1))  # -30 deg, 0.8 m/s
    straight = _upload(client, constant_driver(tmp_path / "straight", preferred=5))
    runs = [
        client.post(
            "/api/v1/league/runs",
            json={"model_id": model["id"], "track": "Oval_track", "laps": 1, "racer": name},
        )
        for model, name in ((left, "lefty"), (straight, "straight"))
    ]
    assert [r.status_code for r in runs] == [201, 201], runs[0].text
    finished = [_wait(client, r.json()) for r in runs]
    assert [r["status"] for r in finished] == ["succeeded", "succeeded"], finished
    assert all(r["entry"]["track"] == "Oval_track" for r in finished)

    board = client.get("/api/v1/league", params={"track": "Oval_track"}).json()["entries"]
    assert [e["rank"] for e in board] == [1, 2]
    assert {e["racer"] for e in board} == {"lefty", "straight"}
    first, second = board
    assert (first["completed"], first["mean_progress"]) >= (
        second["completed"],
        second["mean_progress"],
    )
    video = client.get(f"/api/v1/league/videos/{Path(first['video']).name}")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert len(video.content) > 10_000
    assert client.get("/api/v1/league/runs").json()[0]["id"] == finished[0]["id"]


def test_bad_submissions_are_refused_in_one_line(client: TestClient, tmp_path: Path) -> None:
    driver = _upload(client, constant_driver(tmp_path / "driver", preferred=5))
    unknown = client.post("/api/v1/league/runs", json={"model_id": driver["id"], "track": "Nope"})
    assert unknown.status_code == 400 and "Nope" in unknown.json()["detail"]
    missing = client.post("/api/v1/league/runs", json={"model_id": 999})
    assert missing.status_code == 404
    escape = client.get("/api/v1/league/videos/..%2Fleague.json")
    assert escape.status_code == 404
    anonymous = TestClient(client.app).get("/api/v1/league")
    assert anonymous.status_code == 401
