"""Evaluate a model package on labelled data with onnxruntime: the artefact a device runs.

Classes are matched by name, so a folder whose classes are in another order, or a subset of
the model's classes, evaluates correctly; a class the model does not know is an error.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.data.imagefolder import scan_imagefolder
from lensbox.data.images import load_rgb
from lensbox.errors import DataError, LabelError
from lensbox.preprocess import to_tensor


def evaluate_classifier(
    package_path: str | Path, root: str | Path, batch_size: int = 32, threads: int | None = None
) -> dict[str, Any]:
    from lensbox.runtime.engine import Engine
    from lensbox.tasks.classify import classification_metrics

    engine = Engine.open(package_path, threads=threads)
    labels = engine.manifest.labels
    report = scan_imagefolder(root)
    if not report.samples:
        raise DataError(f"{root}: no usable images to evaluate on")
    unknown = [name for name in report.labels if name not in labels]
    if unknown:
        raise LabelError(
            f"{root}: class folder(s) {unknown} are not labels of the model (it knows "
            f"{labels}); rename or remove them"
        )
    to_model = {i: labels.index(name) for i, name in enumerate(report.labels)}
    y_true = np.array([to_model[s.label] for s in report.samples], dtype=np.int64)
    spec = engine.manifest.input

    def prepare(path: Path) -> np.ndarray:
        return to_tensor(load_rgb(path), spec, "rgb")

    predictions: list[int] = []
    infer_seconds = 0.0
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = [s.path for s in report.samples]
        for offset in range(0, len(paths), batch_size):
            batch = np.stack(list(pool.map(prepare, paths[offset : offset + batch_size])))
            t0 = time.perf_counter()
            logits = engine.run(batch)[0]
            infer_seconds += time.perf_counter() - t0
            predictions.extend(int(i) for i in np.argmax(logits, axis=1))
    wall = time.perf_counter() - start
    metrics = classification_metrics(y_true, np.array(predictions, dtype=np.int64), labels)
    skipped = [p.to_dict() for p in report.problems]
    return {
        **metrics,
        "n_images": len(y_true),
        "images_per_second": round(len(y_true) / wall, 2),
        "inference_images_per_second": round(len(y_true) / infer_seconds, 2),
        "model": {"name": engine.name, "sha256": engine.sha256, "task": engine.manifest.task},
        "data": str(root),
        "skipped": skipped,
    }
