"""Each new task end to end through the real command line, on generated data whose answer is
known: train (real ImageNet backbone) -> package with parity -> evaluate on fresh data ->
``lensbox run`` on a video, reading the published results."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from lensbox.manifest import load_package
from tests.helpers import lensbox
from tests.helpers.vision_data import (
    DET_BGR,
    detection_samples,
    write_activity,
    write_clip,
    write_segmentation,
    write_voc,
)

pytestmark = pytest.mark.slow  # each fixture trains a real backbone


def _train(data: Path, out: Path, task: str, *extra: str) -> dict:
    proc = lensbox(
        "train", str(data), "--task", task, "--out", str(out), "--json", *extra, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _evaluate(model: Path, data: Path) -> dict:
    proc = lensbox("evaluate", str(model), str(data), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _run(model: Path, video: Path, results: Path, *extra: str) -> list[dict]:
    proc = lensbox(
        "run",
        str(model),
        "--source",
        str(video),
        "--port",
        "0",
        "--results",
        str(results),
        *extra,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in results.read_text().splitlines()]


def _check_package(model: Path, task: str) -> None:
    package = load_package(model)
    manifest = package.manifest
    assert manifest.task == task
    assert manifest.parity is not None and manifest.parity.passed
    assert manifest.parity.max_abs_diff < 1e-4
    assert (
        manifest.provenance["pretrained_weights"]
        == "torchvision MobileNet_V2_Weights.IMAGENET1K_V1"
    )
    assert (model / "report.html").is_file()
    # Every reader fingerprints its data, and the manifest records it.
    assert re.fullmatch(r"[0-9a-f]{64}", manifest.provenance["dataset_sha256"])


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("detect")
    data = write_voc(root / "data", detection_samples(32, seed=0))
    _train(data, root / "model", "detect", "--epochs", "10", "--image-size", "128")
    return root / "model"


def test_detector_trains_evaluates_and_runs(detector: Path, tmp_path: Path) -> None:
    _check_package(detector, "detect")
    fresh = write_voc(tmp_path / "fresh", detection_samples(12, seed=7))
    result = _evaluate(detector, fresh)
    assert {"map50", "map50_95", "per_class", "n_images"} <= set(result)
    assert result["n_images"] == 12
    assert result["map50"] >= 0.5, result
    # A red rectangle crossing a 320x240 video: boxes come back in that frame's pixels.
    video = tmp_path / "moving.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    rng = np.random.default_rng(0)
    for i in range(20):
        frame = rng.integers(90, 150, size=(240, 320, 3), dtype=np.uint8)
        frame[100:180, 20 + 10 * i : 110 + 10 * i] = DET_BGR["red"]
        writer.write(frame)
    writer.release()
    docs = _run(detector, video, tmp_path / "r.jsonl", "--set", "track=true")
    found = [d for d in docs if d["counts"].get("red")]
    assert len(found) >= 16, [d["counts"] for d in docs]
    reds = [b for d in found for b in d["detections"] if b["label"] == "red"]
    assert len({b["track_id"] for b in reds}) <= 2  # one rectangle keeps (about) one ID
    centres = [
        np.mean([b["box"][0] + b["box"][2] for b in d["detections"] if b["label"] == "red"]) / 2
        for d in found
    ]
    assert centres[-1] - centres[0] > 100  # it follows the rectangle to the right
    for d in found:
        x1, y1, x2, y2 = next(b["box"] for b in d["detections"] if b["label"] == "red")
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
        assert abs((y1 + y2) / 2 - 140) < 25


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("segment")
    data = write_segmentation(root / "data", n=16)
    _train(
        data,
        root / "model",
        "segment",
        "--epochs",
        "8",
        "--image-size",
        "128",
        "--ignore-index",
        "3",
    )
    return root / "model"


def test_segmenter_trains_evaluates_and_runs(segmenter: Path, tmp_path: Path) -> None:
    _check_package(segmenter, "segment")
    assert load_package(segmenter).manifest.labels == ["sky", "ground", "box"]  # void dropped
    fresh = write_segmentation(tmp_path / "fresh", n=6, seed=5)
    result = _evaluate(segmenter, fresh)
    assert {"miou", "per_class_iou", "pixel_accuracy", "n_images"} <= set(result)
    assert result["ignore_index"] == 3 and result["n_images"] == 6
    assert result["miou"] >= 0.6, result
    video = tmp_path / "scene.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (128, 96))
    for i in range(6):
        image = cv2.imread(str(fresh / "images" / f"s{i:03d}.png"))
        writer.write(image)
    writer.release()
    docs = _run(segmenter, video, tmp_path / "r.jsonl", "--set", "include_mask=true")
    assert len(docs) == 6
    mask = cv2.imdecode(np.frombuffer(base64.b64decode(docs[0]["mask_png"]), np.uint8), 0)
    assert mask.shape == (96, 128) and set(np.unique(mask)) <= {0, 1, 2}
    for doc in docs:
        assert set(doc["class_fractions"]) <= {"sky", "ground", "box"}
        assert abs(sum(doc["class_fractions"].values()) - 1) < 0.01
        assert doc["class_fractions"].get("box", 0) > 0.02


@pytest.fixture(scope="module")
def recogniser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("activity")
    data = write_activity(root / "data")
    summary = _train(
        data, root / "model", "activity", "--epochs", "40", "--image-size", "96", "--window", "8"
    )
    assert summary["labels"] == ["moving", "still"]
    return root / "model"


def test_activity_trains_evaluates_and_follows_the_window(recogniser: Path, tmp_path: Path) -> None:
    _check_package(recogniser, "activity")
    package = load_package(recogniser)
    assert set(package.manifest.files) == {"head.onnx"}
    fresh = write_activity(tmp_path / "fresh", per_label=3, seed=9)
    result = _evaluate(recogniser, fresh)
    assert {"accuracy", "per_class", "n_clips"} <= set(result)
    assert result["n_clips"] == 6 and result["accuracy"] >= 0.8, result
    # 24 frames of movement, then the square stops for 24: the label follows the window.
    moving = write_clip(tmp_path / "a.mp4", True, seed=3, frames=24)
    still = write_clip(tmp_path / "b.mp4", False, seed=4, frames=24)
    joined = tmp_path / "joined.mp4"
    writer = cv2.VideoWriter(str(joined), cv2.VideoWriter_fourcc(*"mp4v"), 10, (128, 96))
    for clip in (moving, still):
        capture = cv2.VideoCapture(str(clip))
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            writer.write(frame)
    writer.release()
    docs = _run(recogniser, joined, tmp_path / "r.jsonl")
    assert [d["window_frames"] for d in docs[:9]] == [1, 2, 3, 4, 5, 6, 7, 8, 8]
    assert docs[20]["label"] == "moving" and docs[-1]["label"] == "still"
    predict = lensbox("predict", str(recogniser), str(still), "--json")
    assert predict.returncode == 0, predict.stderr
    assert json.loads(predict.stdout)["predictions"][0]["label"] == "still"
