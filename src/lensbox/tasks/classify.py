"""Image classification: one label per image (the trash sorter's task).

Decoding, drawing and metrics are numpy/OpenCV only; training imports torch inside ``train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox.tasks._base import Task, register_task


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
        from lensbox.runtime.draw import label_box

        label_box(image, f"{payload['label']} {payload['score']:.2f}", (10, 10))

    def summary(self, payload: dict[str, Any]) -> str:
        return ", ".join(f"{item['label']} {item['score']:.3f}" for item in payload["top_k"])

    def check_data(self, root: Path) -> Any:
        from lensbox.data.imagefolder import scan_imagefolder

        return scan_imagefolder(root)

    def train(self, root: Path, out: Path, options: dict[str, Any], progress: Any = None) -> Any:
        from lensbox.train.classify import ClassifyOptions, train_classifier

        return train_classifier(root, out, ClassifyOptions(**options), progress)

    def train_option_names(self) -> set[str]:
        from dataclasses import fields

        from lensbox.train.classify import ClassifyOptions

        return {f.name for f in fields(ClassifyOptions)}

    def evaluate(self, package_path: Path, root: Path, options: dict[str, Any]) -> dict[str, Any]:
        from lensbox.evaluation import evaluate_classifier

        return evaluate_classifier(package_path, root, **options)


register_task(ClassifyTask())
