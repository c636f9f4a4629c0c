"""``lensbox run``, ``project init`` and ``model import`` through the real command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import free_port, lensbox
from tests.helpers.onnx_models import colour_classifier_onnx, write_video

BGR = {"red": (0, 0, 220), "green": (0, 220, 0), "blue": (220, 0, 0)}


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        return json.loads(response.read())


def _wait_health(port: int, predicate, timeout: float = 20) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            last = _health(port)
            if predicate(last):
                return last
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"health never matched; last: {last}")


def _device(model: Path, source: str, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lensbox",
            "run",
            str(model),
            "--source",
            source,
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_all_frames_writes_results_and_stats(colour_model: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", [BGR["red"]] * 10 + [BGR["blue"]] * 10)
    results, stats = tmp_path / "results.jsonl", tmp_path / "stats.json"
    proc = lensbox(
        "run",
        str(colour_model),
        "--source",
        str(video),
        "--port",
        "0",
        "--results",
        str(results),
        "--stats",
        str(stats),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [d["frame_index"] for d in lines] == list(range(20))
    assert [d["label"] for d in lines] == ["red"] * 10 + ["blue"] * 10
    written = json.loads(stats.read_text())
    assert written["frames"] == 20 and written["dropped"] == 0 and written["fps"] > 0
    assert set(written["latency_ms"]) >= {"p50", "p95"}
    assert json.loads(proc.stdout)["frames"] == 20


def test_trash_sorter_project_publishes_bins(colour_model: Path, tmp_path: Path) -> None:
    project = tmp_path / "sorter"
    proc = lensbox("project", "init", "trash-sorter", str(project))
    assert proc.returncode == 0, proc.stderr
    config = json.loads((project / "project.json").read_text())
    config["config"]["bins"] = {"red": "landfill", "green": "compost", "blue": "recycling"}
    config["config"]["min_confidence"] = 0.0
    (project / "project.json").write_text(json.dumps(config))
    video = write_video(tmp_path / "clip.mp4", [BGR["green"]] * 4 + [BGR["blue"]] * 4)
    results = tmp_path / "r.jsonl"
    proc = lensbox(
        "run",
        str(colour_model),
        "--source",
        str(video),
        "--port",
        "0",
        "--function",
        str(project / "function.py"),
        "--results",
        str(results),
    )
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in results.read_text().splitlines()]
    assert [d["bin"] for d in docs] == ["compost"] * 4 + ["recycling"] * 4
    assert all({"material", "bin", "confidence"} <= set(d) for d in docs)
    again = lensbox("project", "init", "trash-sorter", str(project))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_sigterm_stops_within_two_seconds_and_flushes(colour_model: Path, tmp_path: Path) -> None:
    port = free_port()
    results, stats = tmp_path / "r.jsonl", tmp_path / "stats.json"
    proc = _device(colour_model, "test", port, "--results", str(results), "--stats", str(stats))
    try:
        _wait_health(port, lambda h: h["frames"] > 10)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 2.0
    finally:
        proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    summary = json.loads(stats.read_text())
    assert summary["frames"] == len(results.read_text().splitlines())


def test_unreachable_stream_shows_reconnecting_not_a_hang(colour_model: Path) -> None:
    port, dead = free_port(), free_port()
    proc = _device(colour_model, f"rtsp://127.0.0.1:{dead}/cam", port)
    try:
        health = _wait_health(port, lambda h: h["state"] == "reconnecting")
        assert health["frames"] == 0
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        proc.kill()


@pytest.mark.parametrize("case", ["missing", "corrupt", "wrong-shape"])
def test_bad_inputs_get_one_line(colour_model: Path, tmp_path: Path, case: str) -> None:
    model, source = colour_model, str(tmp_path / "nope.mp4")
    if case == "corrupt":
        source = str(tmp_path / "corrupt.mp4")
        Path(source).write_bytes(
            np.random.default_rng(1).integers(0, 255, 5000, np.uint8).tobytes()
        )
    if case == "wrong-shape":
        manifest_path = colour_model / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["input"]["height"] = manifest["input"]["width"] = 64
        manifest_path.write_text(json.dumps(manifest))
        source = "test"
    proc = lensbox("run", str(model), "--source", source, "--port", "0", "--max-frames", "3")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    if case == "wrong-shape":
        assert "does not match the manifest" in errors[0]


def test_model_import_wraps_a_foreign_onnx(tmp_path: Path) -> None:
    onnx_file = tmp_path / "foreign.onnx"
    onnx_file.write_bytes(colour_classifier_onnx(48))
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\nblue\n")
    out = tmp_path / "pkg"
    proc = lensbox(
        "model",
        "import",
        str(onnx_file),
        "--task",
        "classify",
        "--labels",
        str(labels),
        "--input-size",
        "48",
        "--scale",
        "0.00392156862745098",
        "--mean",
        "0.5,0.5,0.5",
        "--std",
        "0.5,0.5,0.5",
        "--color",
        "rgb",
        "--resize",
        "center-crop",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["input"]["mean"] == [0.5, 0.5, 0.5]
        and manifest["input"]["resize"] == "center-crop"
    )
    image = tmp_path / "blue.png"
    from PIL import Image

    Image.new("RGB", (80, 60), (10, 20, 230)).save(image)
    predicted = json.loads(lensbox("predict", str(out), str(image), "--json").stdout)
    assert predicted["predictions"][0]["label"] == "blue"

    wrong = lensbox(
        "model",
        "import",
        str(onnx_file),
        "--labels",
        str(labels),
        "--input-size",
        "224",
        "--out",
        str(tmp_path / "bad"),
    )
    assert wrong.returncode == 1 and "--input-size 48x48" in wrong.stderr
    labels.write_text("red\ngreen\n")
    mismatch = lensbox(
        "model",
        "import",
        str(onnx_file),
        "--labels",
        str(labels),
        "--input-size",
        "48",
        "--out",
        str(tmp_path / "bad2"),
    )
    assert mismatch.returncode == 1 and "3 classes" in mismatch.stderr


def test_dropped_http_stream_is_reopened(colour_model: Path) -> None:
    """Device B watches device A's MJPEG stream as its camera; A dies and comes back."""
    port_a, port_b = free_port(), free_port()
    camera = _device(colour_model, "test", port_a)
    viewer = None
    try:
        _wait_health(port_a, lambda h: h["frames"] > 3)
        viewer = _device(colour_model, f"http://127.0.0.1:{port_a}/stream/device.mjpg", port_b)
        _wait_health(port_b, lambda h: h["frames"] > 5 and h["state"] == "running")
        camera.terminate()
        camera.wait(10)
        down = _wait_health(port_b, lambda h: h["state"] == "reconnecting")
        camera = _device(colour_model, "test", port_a)
        _wait_health(
            port_b, lambda h: h["state"] == "running" and h["frames"] > down["frames"] + 5, 30
        )
        assert _health(port_b)["reconnects"] >= 1
    finally:
        camera.kill()
        if viewer is not None:
            viewer.send_signal(signal.SIGTERM)
            viewer.wait(10)
            assert "Traceback" not in (viewer.stderr.read() if viewer.stderr else "")


def test_realtime_file_plays_at_native_rate_and_records(colour_model: Path, tmp_path: Path) -> None:
    import cv2

    video = write_video(tmp_path / "clip.mp4", [BGR["green"]] * 30, fps=20)
    record = tmp_path / "rec"
    started = time.monotonic()
    proc = lensbox(
        "run",
        str(colour_model),
        "--source",
        str(video),
        "--realtime",
        "--port",
        "0",
        "--record",
        str(record),
        "--json",
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["mode"] == "realtime" and summary["frames"] >= 25
    assert elapsed >= 1.4  # 30 frames at 20 fps take 1.5 s when played like a camera
    segments = sorted(record.glob("*.mp4"))
    assert len(segments) == 1 and not list(record.glob(".*part*"))
    capture = cv2.VideoCapture(str(segments[0]))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (96, 160, 3)
