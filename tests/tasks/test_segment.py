"""Semantic segmentation: masks (index and colour), validation, metrics and decoding."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lensbox.data.segmentation import scan_segmentation
from lensbox.manifest import InputSpec, ModelManifest, OutputSpec
from lensbox.results import Result
from lensbox.tasks.segment import SegmentTask, segmentation_metrics
from tests.helpers import lensbox
from tests.helpers.vision_data import SEG_CLASSES, write_segmentation


def test_index_and_colour_masks_read_the_same(tmp_path: Path) -> None:
    from lensbox.data.segmentation import read_mask

    plain = scan_segmentation(write_segmentation(tmp_path / "a", n=3))
    coloured = scan_segmentation(write_segmentation(tmp_path / "b", n=3, colour_masks=True))
    assert plain.problems == [] and coloured.problems == []
    assert plain.labels == [name for name, _ in SEG_CLASSES]
    for a, b in zip(plain.samples, coloured.samples, strict=True):
        assert np.array_equal(read_mask(a.mask, plain.colours), read_mask(b.mask, coloured.colours))
    assert plain.pixel_counts is not None and plain.pixel_counts.sum() == 3 * 128 * 96


def test_bad_masks_get_one_line_each(tmp_path: Path) -> None:
    root = write_segmentation(tmp_path / "seg", n=6)
    (root / "masks" / "s000.png").unlink()
    cv2.imwrite(str(root / "masks" / "s001.png"), np.zeros((10, 10), np.uint8))
    cv2.imwrite(str(root / "masks" / "s002.png"), np.full((96, 128), 9, np.uint8))
    (root / "masks" / "s003.png").write_bytes(b"not a png")
    proc = lensbox("data", "check", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["task"] == "segment" and report["n_images"] == 2
    by_file = {Path(p["path"]).name: p["message"] for p in report["problems"]}
    assert sorted(by_file) == ["s000.png", "s001.png", "s002.png", "s003.png"]
    assert "no mask s000.png" in by_file["s000.png"]
    assert "is 10x10 but its image is 128x96" in by_file["s001.png"]
    assert "class index 9" in by_file["s002.png"]
    assert "cannot be decoded" in by_file["s003.png"]
    # --ignore-index makes a void value legal instead of an error
    cv2.imwrite(str(root / "masks" / "s002.png"), np.full((96, 128), 200, np.uint8))
    assert len(scan_segmentation(root, ignore_index=200).problems) == 3


def test_camvid_layout_keeps_its_splits(tmp_path: Path) -> None:
    root = tmp_path / "camvid"
    flat = write_segmentation(tmp_path / "flat", n=6)
    for split, names in (
        ("train", ["s000", "s001", "s002"]),
        ("val", ["s003"]),
        ("test", ["s004", "s005"]),
    ):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for name in names:
            (root / split / f"{name}.png").write_bytes(
                (flat / "images" / f"{name}.png").read_bytes()
            )
            (root / f"{split}annot" / f"{name}.png").write_bytes(
                (flat / "masks" / f"{name}.png").read_bytes()
            )
    (root / "class_dict.csv").write_text((flat / "class_dict.csv").read_text())
    report = scan_segmentation(root)
    assert report.splits == ["test", "train", "val"]
    assert len(report.select("train,val")) == 4 and len(report.select("test")) == 2


def test_miou_counts_every_class_that_occurs() -> None:
    confusion = np.array([[8, 2, 0], [0, 10, 0], [0, 0, 0]])
    metrics = segmentation_metrics(confusion, ["a", "b", "c"])
    assert metrics["per_class_iou"] == {"a": 0.8, "b": pytest.approx(10 / 12, abs=1e-4), "c": None}
    assert metrics["miou"] == pytest.approx((0.8 + 10 / 12) / 2, abs=1e-4)
    assert metrics["pixel_accuracy"] == 0.9


def test_decode_reports_fractions_and_overlays_the_frame() -> None:
    manifest = ModelManifest(
        name="t",
        task="segment",
        labels=["sky", "ground"],
        input=InputSpec(height=4, width=4),
        outputs=[OutputSpec(name="logits", decode="argmax")],
        sha256="0" * 64,
        task_params={"colours": [[0, 0, 255], [0, 255, 0]], "include_mask": True},
    )
    logits = np.zeros((1, 2, 4, 4), np.float32)
    logits[0, 0, :1] = 1.0  # top quarter sky, the rest ground
    logits[0, 1, 1:] = 1.0
    task = SegmentTask()
    payload = task.decode([logits], manifest, (40, 80))[0]
    assert payload["class_fractions"] == {"ground": 0.75, "sky": 0.25}
    assert payload["_mask"].shape == (4, 4)  # drawn at frame size only when watched
    png = cv2.imdecode(
        np.frombuffer(__import__("base64").b64decode(payload["mask_png"]), np.uint8), 0
    )
    assert png.shape == (40, 80) and set(np.unique(png)) == {0, 1}
    image = np.zeros((40, 80, 3), np.uint8)
    task.draw(image, payload, manifest)
    assert image[5, 40, 0] > 100 and image[35, 40, 1] > 100  # BGR: sky blue on top, green below
    result = Result(0, 0.0, "s", "segment", payload)
    assert "_mask" not in result.to_dict() and json.loads(result.to_json())["dominant"] == "ground"
