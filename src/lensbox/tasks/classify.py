"""Image classification: one label per image (the trash sorter's task).

Decoding, drawing and metrics are numpy/OpenCV only; training imports torch inside ``train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox.data.layout import Layout, register_layout
from lensbox.errors import PackageError
from lensbox.manifest import OutputSpec
from lensbox.tasks._base import (
    EngineLike,
    Evaluator,
    ImportProbe,
    Task,
    register_evaluator,
    register_task,
)
from lensbox.tasks._labels import refuse_unknown


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True))


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> list[dict[str, Any]]:
    order = np.argsort(-probabilities)[: max(1, k)]
    return [
        {"label": labels[i], "score": round(float(probabilities[i]), 6), "index": int(i)}
        for i in order
    ]


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix.

    Macro F1 averages over the classes present in ``y_true`` only, so evaluating on a subset of
    a model's classes is not penalised for the classes that are absent.
    """
    n = len(labels)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    correct = np.diag(matrix)
    per_class: dict[str, dict[str, float | int]] = {}
    f1s = []
    for i, label in enumerate(labels):
        precision = float(correct[i] / predicted[i]) if predicted[i] else 0.0
        recall = float(correct[i] / support[i]) if support[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": int(support[i]),
        }
        if support[i]:
            f1s.append(f1)
    pairs = [
        {"true": labels[t], "predicted": labels[p], "count": int(matrix[t, p])}
        for t in range(n)
        for p in range(n)
        if t != p and matrix[t, p] > 0
    ]
    pairs.sort(key=lambda pair: -int(pair["count"]))  # type: ignore[call-overload]
    total = int(matrix.sum())
    return {
        "accuracy": round(float(correct.sum() / total), 4) if total else 0.0,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else 0.0,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "labels": list(labels),
        "most_confused": pairs[:5],
    }


class ClassifyTask(Task):
    name = "classify"
    description = "image classification: one label per image"
    import_formats = "one scores output (N, C): logits or probabilities"

    def decode(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        scores = np.asarray(outputs[0], dtype=np.float32)
        decode = manifest.outputs[0].decode if manifest.outputs else "softmax"
        probabilities = softmax(scores) if decode == "softmax" else scores
        k = int(manifest.task_params.get("top_k", 3))
        payloads = []
        for row in probabilities:
            ranked = top_k(row, manifest.labels, min(k, len(manifest.labels)))
            payloads.append(
                {"label": ranked[0]["label"], "score": ranked[0]["score"], "top_k": ranked}
            )
        return payloads

    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: Any) -> None:
        from lensbox.draw import label_box

        label_box(image, f"{payload['label']} {payload['score']:.2f}", (10, 10))

    def summary(self, payload: dict[str, Any]) -> str:
        return ", ".join(f"{item['label']} {item['score']:.3f}" for item in payload["top_k"])

    def check_data(self, root: Path) -> Any:
        from lensbox.data.imagefolder import scan_imagefolder

        return scan_imagefolder(root)

    def import_outputs(self, probe: ImportProbe) -> tuple[list[OutputSpec], dict[str, Any]]:
        path, labels_path, names, values = probe.path, probe.labels_path, probe.names, probe.values
        labels = probe.labels
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


def evaluate_classifier(engine: EngineLike, root: Path, batch_size: int = 32) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix on an ImageFolder;
    classes are matched by name, so a subset or another order evaluates correctly."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from lensbox.data.imagefolder import scan_imagefolder
    from lensbox.data.images import load_rgb
    from lensbox.errors import DataError
    from lensbox.preprocess import to_tensor

    labels = engine.manifest.labels
    report = scan_imagefolder(root)
    if not report.samples:
        raise DataError(f"{root}: no usable images to evaluate on")
    refuse_unknown(root, report.labels, labels, "class folder(s)")
    to_model = {i: labels.index(name) for i, name in enumerate(report.labels)}
    y_true = np.array([to_model[s.label] for s in report.samples], dtype=np.int64)
    spec = engine.manifest.input

    def prepare(path: Path) -> np.ndarray:
        return to_tensor(load_rgb(path), spec, "rgb")

    predictions: list[int] = []
    infer_seconds = 0.0
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = [s.path for s in report.samples]
        for offset in range(0, len(paths), batch_size):
            batch = np.stack(list(pool.map(prepare, paths[offset : offset + batch_size])))
            t0 = time.perf_counter()
            logits = engine.run(batch)[0]
            infer_seconds += time.perf_counter() - t0
            predictions.extend(int(i) for i in np.argmax(logits, axis=1))
    metrics = classification_metrics(y_true, np.array(predictions, dtype=np.int64), labels)
    return {
        **metrics,
        "n_images": len(y_true),
        "inference_images_per_second": round(len(y_true) / max(infer_seconds, 1e-9), 2),
        "skipped": [p.to_dict() for p in report.problems],
    }


def looks_like_imagefolder(root: Path) -> bool:
    """The catch-all: any folder of class subfolders is tried as an ImageFolder."""
    return True


register_task(ClassifyTask())
register_evaluator(
    Evaluator(
        task="classify",
        run=evaluate_classifier,
        options=frozenset({"batch_size"}),
        headline=("accuracy", "macro_f1"),
    )
)
register_layout(
    Layout("classify", looks_like_imagefolder, 1000, "one subfolder of images per class")
)
