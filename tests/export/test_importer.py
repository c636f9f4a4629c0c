"""``lensbox model import`` for detection and segmentation models in their standard forms."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from tests.helpers import lensbox


def _constant_model(value: np.ndarray, size: int = 64, output: str = "output0") -> bytes:
    """A model whose output is ``value`` whatever the image (plus 0 x its mean, to use it)."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["value", "nothing"], [output]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(value.shape))],
        initializer=[
            helper.make_tensor("value", TensorProto.FLOAT, value.shape, value.ravel().tolist()),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _import(tmp_path: Path, model: bytes, task: str, labels: str):  # type: ignore[no-untyped-def]
    (tmp_path / "m.onnx").write_bytes(model)
    (tmp_path / "labels.txt").write_text(labels)
    out = tmp_path / "pkg"
    proc = lensbox(
        "model",
        "import",
        str(tmp_path / "m.onnx"),
        "--task",
        task,
        "--labels",
        str(tmp_path / "labels.txt"),
        "--input-size",
        "64",
        "--out",
        str(out),
    )
    return proc, out


def test_yolov8_style_detector_imports_and_predicts_frame_pixels(tmp_path: Path) -> None:
    raw = np.zeros((1, 6, 3), np.float32)  # rows: cx, cy, w, h, score(cat), score(dog)
    raw[0, :, 0] = [32, 32, 20, 10, 0.9, 0.1]
    raw[0, :, 1] = [33, 32, 20, 10, 0.8, 0.1]  # a near-copy: NMS drops it
    raw[0, :, 2] = [10, 10, 4, 4, 0.05, 0.02]  # below the score threshold
    proc, out = _import(tmp_path, _constant_model(raw), "detect", "cat\ndog\n")
    assert proc.returncode == 0, proc.stderr
    image = tmp_path / "big.png"
    cv2.imwrite(str(image), np.zeros((128, 256, 3), np.uint8))
    proc = lensbox("predict", str(out), str(image), "--json")
    assert proc.returncode == 0, proc.stderr
    detections = json.loads(proc.stdout)["predictions"][0]["detections"]
    assert len(detections) == 1 and detections[0]["label"] == "cat"
    # (22, 27, 42, 37) in the 64x64 input -> x4 across, x2 down in the 256x128 image
    assert detections[0]["box"] == [88.0, 54.0, 168.0, 74.0]


def test_detector_with_wrong_class_count_is_refused(tmp_path: Path) -> None:
    model = _constant_model(np.zeros((1, 9, 5), np.float32))
    proc, _ = _import(tmp_path, model, "detect", "cat\ndog\n")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "needs 4 + 2 rows" in proc.stderr


def test_segmenter_imports_and_reports_fractions(tmp_path: Path) -> None:
    scores = np.zeros((1, 2, 16, 16), np.float32)
    scores[0, 1, :, 12:] = 1.0  # right quarter is "road"
    proc, out = _import(tmp_path, _constant_model(scores, output="out"), "segment", "sky\nroad\n")
    assert proc.returncode == 0, proc.stderr
    image = tmp_path / "i.png"
    cv2.imwrite(str(image), np.zeros((40, 80, 3), np.uint8))
    proc = lensbox("predict", str(out), str(image), "--json")
    assert proc.returncode == 0, proc.stderr
    prediction = json.loads(proc.stdout)["predictions"][0]
    assert prediction["class_fractions"] == {"sky": 0.75, "road": 0.25}
    assert "_mask" not in prediction


def test_activity_import_is_refused_with_the_reason(tmp_path: Path) -> None:
    model = _constant_model(np.zeros((1, 2), np.float32))
    proc, _ = _import(tmp_path, model, "activity", "a\nb\n")
    assert proc.returncode == 1 and "standard output format" in proc.stderr
