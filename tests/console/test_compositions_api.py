"""The console's composer API: a melody upload or a sample with a compose model in; the
MIDI, WAV and piano roll served back; bad input is a 400 in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lensbox.manifest import zip_package
from tests.composer.conftest import write_four_part, write_melody
from tests.helpers.compose_models import tiny_inpaint

pytestmark = pytest.mark.slow  # trains a small network for a few seconds


@pytest.fixture(scope="module")
def compose_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compose")
    data = root / "pieces"
    data.mkdir()
    for i in range(6):
        write_four_part(data / f"p{i}.mid", seed=i)
    package = tiny_inpaint(root / "harmony", data)
    return zip_package(package, root / "harmony.zip")


def test_a_melody_is_harmonised_and_its_files_are_served(
    client: TestClient, compose_zip: Path, tmp_path: Path
) -> None:
    uploaded = client.post(
        "/api/v1/models", files={"file": ("h.zip", compose_zip.read_bytes(), "application/zip")}
    )
    assert uploaded.status_code == 201, uploaded.text
    model_id = uploaded.json()["id"]
    melody = write_melody(tmp_path / "m.mid", [(72, 1), (74, 1), (76, 2), (74, 1), (72, 3)])
    answer = client.post(
        "/api/v1/compositions",
        data={"model_id": str(model_id), "mode": "accompany"},
        files={"melody": ("m.mid", melody.read_bytes(), "audio/midi")},
    )
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert document["mode"] == "accompany" and document["melody_notes"] == 5
    assert client.get(f"/api/v1/compositions/{document['id']}").json() == document
    midi = client.get(document["files"]["midi"])
    assert midi.status_code == 200 and midi.content[:4] == b"MThd"
    png = client.get(document["files"]["png"])
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    if shutil.which("fluidsynth"):
        wav = client.get(document["files"]["wav"])
        assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
        assert len(wav.content) > 44100 * 2 * 2 * 4  # over four seconds of 16-bit stereo

    sample = client.post(
        "/api/v1/compositions",
        data={"model_id": str(model_id), "sample": "ode_to_joy", "mode": "extend", "bars": "1"},
    )
    assert sample.status_code == 201, sample.text
    assert sample.json()["added_steps"] == 16

    for data, files, needle in (
        ({"model_id": str(model_id)}, {"melody": ("x.mid", b"garbage", "audio/midi")}, "MIDI"),
        ({"model_id": str(model_id), "sample": "nosuch"}, None, "nosuch"),
        ({"model_id": str(model_id)}, None, "either a melody file or a sample"),
        ({"model_id": "999"}, {"melody": ("m.mid", melody.read_bytes(), "audio/midi")}, "no model"),
    ):
        bad = client.post("/api/v1/compositions", data=data, files=files)
        assert bad.status_code in (400, 404), bad.text
        assert needle in bad.json()["detail"] and "\n" not in bad.json()["detail"]
    assert client.get("/api/v1/compositions/" + "0" * 32).status_code == 404
    assert client.get(f"/api/v1/compositions/{document['id']}/../../etc").status_code == 404
