"""Wrap a foreign ONNX model into a lensbox package (as DeepLens imported external models).
Needs only onnxruntime: importing a model never needs torch.

Classification takes one scores output; detection an Ultralytics-style ``(1, 4 + C, A)``
output or post-NMS boxes/scores/classes outputs; segmentation ``(N, C, H, W)`` scores.
Activity recognition has no standard ONNX form, so it is refused with that reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.errors import PackageError
from lensbox.manifest import InputSpec, ModelManifest, ModelPackage, OutputSpec, write_package


def read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PackageError(f"{path}: cannot read labels ({exc}); one label per line") from None
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise PackageError(f"{path}: no labels; write one label per line")
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        raise PackageError(f"{path}: duplicate labels {duplicates}; labels must be unique")
    return labels


def parse_triplet(text: str, option: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise PackageError(
            f"{option} {text!r}: expected three numbers, e.g. 0.485,0.456,0.406"
        ) from None
    if len(values) != 3:
        raise PackageError(f"{option} {text!r}: expected three comma-separated numbers")
    return values[0], values[1], values[2]


def parse_size(text: str) -> tuple[int, int]:
    """``224`` or ``224x320`` (height x width)."""
    parts = text.lower().split("x")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise PackageError(f"--input-size {text!r}: expected N or HxW, e.g. 224") from None
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or min(numbers) <= 0:
        raise PackageError(f"--input-size {text!r}: expected N or HxW, e.g. 224")
    return numbers[0], numbers[1]


def import_model(
    onnx_path: Path,
    labels_path: Path,
    out: Path,
    input_size: str,
    task: str = "classify",
    scale: float = 1.0 / 255.0,
    mean: str = "0,0,0",
    std: str = "1,1,1",
    color: str = "rgb",
    resize: str = "stretch",
    name: str | None = None,
    boxes_normalized: bool = False,
) -> ModelPackage:
    """Check a foreign ONNX file against the task's standard output form, then package it."""
    ort = require("onnxruntime", extra="runtime")
    if task not in _OUTPUTS:
        raise PackageError(
            f"--task {task}: importing needs a standard output format; supported: "
            f"{', '.join(sorted(_OUTPUTS))} (activity models have none)"
        )
    if not onnx_path.is_file():
        raise PackageError(f"{onnx_path}: no such ONNX file")
    labels = read_labels(labels_path)
    height, width = parse_size(input_size)
    data = onnx_path.read_bytes()
    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise PackageError(f"{onnx_path}: onnxruntime cannot load it: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise PackageError(f"{onnx_path}: has {len(inputs)} inputs; lensbox feeds one image tensor")
    tensor = inputs[0]
    shape = list(tensor.shape)
    if len(shape) != 4:
        raise PackageError(f"{onnx_path}: input {tensor.name} has shape {shape}; expected 4-D")
    layout = "NHWC" if shape[3] == 3 and shape[1] != 3 else "NCHW"
    spatial = shape[2:] if layout == "NCHW" else shape[1:3]
    for got, want, axis in zip(spatial, (height, width), ("height", "width"), strict=True):
        if isinstance(got, int) and got != want:
            raise PackageError(
                f"{onnx_path}: input {axis} is {got} but --input-size says {want}; "
                f"pass --input-size {spatial[0]}x{spatial[1]}"
            )
    spec = InputSpec(
        name=tensor.name,
        height=height,
        width=width,
        layout=layout,  # type: ignore[arg-type]
        color=color,  # type: ignore[arg-type]
        scale=scale,
        mean=parse_triplet(mean, "--mean"),
        std=parse_triplet(std, "--std"),
        resize=resize,  # type: ignore[arg-type]
    )
    probe = np.zeros(
        (1, 3, height, width) if layout == "NCHW" else (1, height, width, 3), np.float32
    )
    names = [o.name for o in session.get_outputs()]
    try:
        values = [np.asarray(v) for v in session.run(names, {tensor.name: probe})]
    except Exception as exc:
        raise PackageError(f"{onnx_path}: a test inference failed: {exc}") from None
    outputs, task_params = _OUTPUTS[task](onnx_path, labels_path, names, values, labels)
    if task == "detect":
        task_params["normalized"] = boxes_normalized
    manifest = ModelManifest(
        name=name or out.name,
        task=task,
        labels=labels,
        input=spec,
        outputs=outputs,
        sha256="0" * 64,
        provenance=_provenance(onnx_path, data),
        task_params=task_params,
    )
    return write_package(out, data, manifest)


def _classify_outputs(
    path: Path, labels_path: Path, names: list[str], values: list[np.ndarray], labels: list[str]
) -> tuple[list[OutputSpec], dict[str, Any]]:
    scores = values[0].reshape(values[0].shape[0], -1)
    if scores.shape[1] != len(labels):
        raise PackageError(
            f"{path}: output {names[0]} has {scores.shape[1]} classes but "
            f"{labels_path} has {len(labels)} labels; they must match"
        )
    is_probability = bool(
        np.all(scores >= 0) and np.all(scores <= 1) and np.allclose(scores.sum(1), 1, atol=1e-3)
    )
    output = OutputSpec(
        name=names[0],
        kind="probabilities" if is_probability else "logits",
        decode="none" if is_probability else "softmax",
    )
    return [output], {"top_k": min(3, len(labels))}


def _detect_outputs(
    path: Path, labels_path: Path, names: list[str], values: list[np.ndarray], labels: list[str]
) -> tuple[list[OutputSpec], dict[str, Any]]:
    """Ultralytics-style ``(1, 4 + C, A)`` raw output, or post-NMS boxes/scores/classes."""
    params: dict[str, Any] = {"score_threshold": 0.3, "nms_iou": 0.6, "max_detections": 100}
    if len(values) == 1 and values[0].ndim == 3:
        rows = values[0].shape[1:]
        if len(labels) + 4 in rows:
            return [OutputSpec(name=names[0], kind="raw", decode="yolov8")], params
        raise PackageError(
            f"{path}: output {names[0]} has shape {list(values[0].shape)}; a YOLOv8-style "
            f"output needs 4 + {len(labels)} rows (one per label in {labels_path})"
        )
    if len(values) >= 3:

        def pick(*keys: str) -> str:
            for name in names:
                if any(k in name.lower() for k in keys):
                    return name
            raise PackageError(
                f"{path}: outputs {names}: cannot tell which holds the {keys[0]}; name them "
                "boxes, scores and classes"
            )

        chosen = [pick("box"), pick("score", "conf"), pick("class", "label")]
        return [
            OutputSpec(name=n, kind=k, decode="boxes")
            for n, k in zip(chosen, ("boxes", "scores", "classes"), strict=True)
        ], params
    raise PackageError(
        f"{path}: outputs {names} are not a standard detection format (one (1, 4+C, A) tensor, "
        "or boxes + scores + classes)"
    )


def _segment_outputs(
    path: Path, labels_path: Path, names: list[str], values: list[np.ndarray], labels: list[str]
) -> tuple[list[OutputSpec], dict[str, Any]]:
    first = values[0]
    if first.ndim != 4 or first.shape[1] != len(labels):
        raise PackageError(
            f"{path}: output {names[0]} has shape {list(first.shape)}; segmentation needs "
            f"(N, {len(labels)}, H, W) scores, one channel per label in {labels_path}"
        )
    return [OutputSpec(name=names[0], kind="logits", decode="argmax")], {"include_mask": False}


_OUTPUTS = {"classify": _classify_outputs, "detect": _detect_outputs, "segment": _segment_outputs}


def _provenance(path: Path, data: bytes) -> dict[str, Any]:
    import hashlib

    return {
        "imported_from": str(path.resolve()),
        "original_sha256": hashlib.sha256(data).hexdigest(),
    }
