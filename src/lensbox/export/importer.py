"""Wrap a foreign ONNX model into a lensbox package (as DeepLens imported external models).
Needs only onnxruntime: importing a model never needs torch.

Each task says which output forms it accepts (``Task.import_formats`` and
``Task.import_outputs``): classification one scores output; detection an Ultralytics-style
``(1, 4 + C, A)`` output or post-NMS boxes/scores/classes; segmentation ``(N, C, H, W)``
scores. A task with no standard ONNX form (activity) is refused with that reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.errors import PackageError
from lensbox.manifest import InputSpec, ModelManifest, ModelPackage, write_package
from lensbox.tasks import ImportProbe, get_task, importable_task_names


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
    handler = get_task(task)
    if not handler.import_formats:
        raise PackageError(
            f"--task {task}: importing needs a standard output format; supported: "
            f"{', '.join(importable_task_names())} ({task} models have none)"
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
    outputs, task_params = handler.import_outputs(
        ImportProbe(
            onnx_path, labels_path, names, values, labels, {"boxes_normalized": boxes_normalized}
        )
    )
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


def _provenance(path: Path, data: bytes) -> dict[str, Any]:
    import hashlib

    return {
        "imported_from": str(path.resolve()),
        "original_sha256": hashlib.sha256(data).hexdigest(),
    }
