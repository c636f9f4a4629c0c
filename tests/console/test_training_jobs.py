"""Datasets and training jobs through the API (in-process), with a real background training."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import add_bad_files, make_imagefolder, zip_folder


@pytest.mark.slow
def test_dataset_upload_check_and_training_job(client: TestClient, tmp_path: Path) -> None:
    data = make_imagefolder(tmp_path / "bins", per_class=8)
    add_bad_files(data)
    response = client.post(
        "/api/v1/datasets",
        files={"file": ("bins.zip", zip_folder(data, "bins/"), "application/zip")},
    )
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["report"]["ok"] and dataset["report"]["n_problems"] == 5
    assert dataset["report"]["classes"] == {"compost": 8, "landfill": 8, "recycling": 8}

    job = client.post(
        "/api/v1/training-jobs", json={"dataset_id": dataset["id"], "epochs": 1, "image_size": 64}
    ).json()
    assert job["status"] == "running"
    deadline = time.monotonic() + 240
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(1)
        job = client.get(f"/api/v1/training-jobs/{job['id']}").json()
    assert job["status"] == "succeeded", job
    assert job["progress"] is not None and "stage" in job["progress"]
    model = client.get(f"/api/v1/models/{job['model_id']}").json()
    assert model["labels"] == ["compost", "landfill", "recycling"] and model["version"] == 1
    events = client.get(f"/api/v1/training-jobs/{job['id']}/events").text
    assert "data: " in events and "fine-tune" in events and "event: end" in events


def test_unsafe_dataset_zips_are_refused(client: TestClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../escape/a.jpg", b"x")
    response = client.post(
        "/api/v1/datasets", files={"file": ("bad.zip", buffer.getvalue(), "application/zip")}
    )
    assert response.status_code == 400 and "escapes" in response.json()["detail"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/zeros.jpg", b"\0" * (20 << 20))
    response = client.post(
        "/api/v1/datasets", files={"file": ("bomb.zip", bomb.getvalue(), "application/zip")}
    )
    assert response.status_code == 400 and "expands" in response.json()["detail"]
    assert client.post("/api/v1/training-jobs", json={"dataset_id": 99}).status_code == 404


@pytest.mark.slow
def test_a_detection_dataset_is_recognised_and_trains_a_detector(
    client: TestClient, tmp_path: Path
) -> None:
    from tests.helpers.vision_data import detection_samples, write_voc

    data = write_voc(tmp_path / "boxes", detection_samples(8))
    (data / "annotations" / "img000.xml").write_text("<annotation><filename>img000.jpg")
    response = client.post(
        "/api/v1/datasets",
        files={"file": ("boxes.zip", zip_folder(data, "boxes/"), "application/zip")},
    )
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert report["task"] == "detect" and report["format"] == "voc"
    assert report["n_images"] == 7 and report["n_problems"] == 1
    job = client.post(
        "/api/v1/training-jobs",
        json={"dataset_id": response.json()["id"], "epochs": 1, "image_size": 64},
    ).json()
    deadline = time.monotonic() + 240
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(1)
        job = client.get(f"/api/v1/training-jobs/{job['id']}").json()
    assert job["status"] == "succeeded", job
    model = client.get(f"/api/v1/models/{job['model_id']}").json()
    assert model["task"] == "detect" and sorted(model["labels"]) == ["blue", "red"]
