"""Object detection: the three annotation formats, validation, metrics, decoding, and a real
train -> evaluate -> run round trip on generated rectangles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lensbox.data.detection import scan_detection
from lensbox.manifest import InputSpec, ModelManifest, OutputSpec
from lensbox.tasks.detect import decode_detections, detection_metrics
from tests.helpers import lensbox
from tests.helpers.vision_data import (
    DET_LABELS,
    detection_samples,
    write_coco,
    write_voc,
    write_yolo,
)


@pytest.mark.parametrize("writer", [write_voc, write_yolo, write_coco])
def test_each_format_reads_back_the_boxes_it_was_given(writer, tmp_path: Path) -> None:
    samples = detection_samples(6, seed=3)
    report = scan_detection(writer(tmp_path / "data", samples))
    # VOC has no class list: its labels are the names found, sorted; the others keep theirs.
    assert report.problems == [] and sorted(report.labels) == sorted(DET_LABELS)
    assert len(report.samples) == 6
    for sample, (_, boxes, classes) in zip(report.samples, samples, strict=True):
        # YOLO stores 6 decimals of the normalised value: well under a pixel here.
        assert np.abs(sample.boxes - boxes).max() < 0.05
        assert [report.labels[c] for c in sample.classes] == [DET_LABELS[c] for c in classes]


def test_bad_annotation_files_get_one_line_each_and_the_rest_still_trains(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "voc", detection_samples(6))
    ann = root / "annotations"
    box = "<object><name>red</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>"
    size = "<size><width>160</width><height>120</height></size>"
    (ann / "img000.xml").write_text(
        f"<annotation><filename>img000.jpg</filename>{size}{box.format(100, 10, 300, 50)}</annotation>"
    )
    (ann / "img001.xml").write_text(
        f"<annotation><filename>img001.jpg</filename>{size}{box.format(40, 40, 40, 80)}</annotation>"
    )
    (ann / "img002.xml").write_text(
        f"<annotation><filename>gone.jpg</filename>{size}{box.format(1, 1, 20, 20)}</annotation>"
    )
    (ann / "img003.xml").write_text("<annotation><filename>img003.jpg</filen")
    (root / "classes.txt").write_text("red\nblue\n")
    (ann / "img004.xml").write_text(
        f"<annotation><filename>img004.jpg</filename>{size}{box.format(1, 1, 20, 20).replace('red', 'racoon')}</annotation>"
    )
    proc = lensbox("data", "check", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["task"] == "detect" and report["n_images"] == 1
    by_file = {Path(p["path"]).name: p["message"] for p in report["problems"]}
    assert sorted(by_file) == ["img000.xml", "img001.xml", "img002.xml", "img003.xml", "img004.xml"]
    assert "outside the 160x120 image" in by_file["img000.xml"]
    assert "no area" in by_file["img001.xml"]
    assert "does not exist" in by_file["img002.xml"]
    assert "not valid XML" in by_file["img003.xml"]
    assert "unknown class 'racoon'" in by_file["img004.xml"]
    text = lensbox("data", "check", str(root))
    problem_lines = [line for line in text.stdout.splitlines() if line.startswith("bad_annotation")]
    assert len(problem_lines) == 5 and all(line.count("\n") == 0 for line in problem_lines)


def test_yolo_and_coco_errors_name_the_file(tmp_path: Path) -> None:
    yolo = write_yolo(tmp_path / "yolo", detection_samples(3))
    (yolo / "labels" / "img001.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    (yolo / "labels" / "img002.txt").write_text("0 0.5 0.5 40 20\n")
    report = scan_detection(yolo)
    messages = sorted(p.message for p in report.problems)
    assert len(messages) == 2
    assert "img001.txt: line 1: unknown class 7" in messages[0]
    assert "img002.txt: line 1: values must be normalised" in messages[1]
    coco = write_coco(tmp_path / "coco", detection_samples(3))
    data = json.loads((coco / "annotations.json").read_text())
    data["annotations"][0]["category_id"] = 99
    (coco / "annotations.json").write_text(json.dumps(data))
    report = scan_detection(coco)
    assert len(report.problems) == 1 and "unknown category_id 99" in report.problems[0].message
    assert "img000.jpg" in report.problems[0].message


def test_metrics_reward_exact_boxes_and_punish_misses() -> None:
    truth = [
        (np.array([[10, 10, 50, 50]], np.float32), np.array([0])),
        (np.array([[20, 20, 80, 60], [100, 10, 140, 40]], np.float32), np.array([0, 1])),
    ]
    perfect = [(b, np.ones(len(c), np.float32), c) for b, c in truth]
    assert detection_metrics(truth, perfect, DET_LABELS)["map50"] == pytest.approx(1.0)
    shifted = [(b + 12, s, c) for b, s, c in perfect]
    worse = detection_metrics(truth, shifted, DET_LABELS)
    assert worse["map50_95"] < 0.5 and worse["map50"] < 1.0
    nothing = [(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))] * 2
    assert detection_metrics(truth, nothing, DET_LABELS)["map50"] == 0.0
    assert set(worse["per_class"]) == {"red", "blue"}


def _manifest(size: int = 64) -> ModelManifest:
    return ModelManifest(
        name="t",
        task="detect",
        labels=DET_LABELS,
        input=InputSpec(height=size, width=size),
        outputs=[
            OutputSpec(name="heatmap", decode="centernet"),
            OutputSpec(name="boxes", decode="centernet"),
        ],
        sha256="0" * 64,
        task_params={"score_threshold": 0.3},
    )


def test_decoding_puts_boxes_in_source_frame_pixels() -> None:
    heat = np.zeros((1, 2, 8, 8), np.float32)
    heat[0, 1, 2, 3] = 0.9  # class blue, cell (row 2, col 3) -> centre (28, 20) at stride 8
    heat[0, 1, 2, 4] = 0.5  # a weaker neighbour: not a peak
    dist = np.zeros((1, 4, 8, 8), np.float32)
    dist[0, :, 2, 3] = np.array([8, 4, 8, 4]) / 64  # fractions of the 64-pixel input
    payload = decode_detections([heat, dist], _manifest(), (360, 640))
    assert payload["n_detections"] == 1 and payload["counts"] == {"blue": 1}
    det = payload["detections"][0]
    # Input box (20, 16, 36, 24) scaled by 640/64 = 10 across and 360/64 = 5.625 down.
    assert det["box"] == pytest.approx([200, 90, 360, 135], abs=0.2)
    assert det["score"] == pytest.approx(0.9)
