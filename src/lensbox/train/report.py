"""report.html: curves and confusion matrix as embedded PNGs, readable offline in any browser."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.manifest import ModelManifest


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display on a server)."""
    matplotlib = require("matplotlib", extra="train")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", extra="train")


def png_base64(figure: Any) -> str:
    """A figure as base64 PNG, to embed in a self-contained page."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def curves_png(history: list[dict[str, Any]]) -> str | None:
    """Loss (and accuracy, where the task has it) per epoch, for any task's history."""
    plt = pyplot()
    rows = [h for h in history if h.get("stage") in ("fine-tune", "train") and "train_loss" in h]
    if not rows:
        return None
    score_keys = [
        k for k in ("accuracy", "miou") if any(f"train_{k}" in h or f"val_{k}" in h for h in rows)
    ]
    figure, axes = plt.subplots(1, 1 + len(score_keys), figsize=(5 * (1 + len(score_keys)), 3.6))
    axes = list(np.atleast_1d(axes))
    for key, axis in zip(["loss", *score_keys], axes, strict=True):
        for split, name in (("train", "train"), ("val", "validation")):
            points = [(h["epoch"], h[f"{split}_{key}"]) for h in rows if f"{split}_{key}" in h]
            if points:
                axis.plot(*zip(*points, strict=True), "o-", label=name)
        axis.set(title=key.capitalize() if key != "miou" else "mIoU", xlabel="epoch")
        if key != "loss":
            axis.set(ylim=(0, 1.02))
        axis.grid(alpha=0.3)
        axis.legend()
    encoded = png_base64(figure)
    plt.close(figure)
    return encoded


def confusion_png(matrix: list[list[int]], labels: list[str]) -> str:
    plt = pyplot()
    size = max(4.0, 0.7 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set(xlabel="predicted", ylabel="true", title="Confusion matrix (validation)")
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if value > peak / 2 else "black"
            axis.text(j, i, str(value), ha="center", va="center", color=colour)
    encoded = png_base64(figure)
    plt.close(figure)
    return encoded


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def render_report(
    manifest: ModelManifest,
    history: list[dict[str, Any]],
    sections: tuple[Callable[[ModelManifest, list[dict[str, Any]]], str], ...] = (),
) -> str:
    """The whole page: headline metrics, curves, the sections every task's metrics imply
    (confusion matrix, per-class tables), then the trainer's own ``sections`` (HTML strings),
    then the provenance."""
    metrics = manifest.metrics
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>lensbox report: {esc(manifest.name)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}</style>",
        "</head><body>",
        f"<h1>{esc(manifest.name)}: {esc(manifest.task)}</h1>",
        "<p>",
    ]
    headline = ", ".join(
        f"{esc(k)} <b>{_cell(v)}</b>"
        for k, v in metrics.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    )
    parts.append(f"{headline or 'No held-out metrics'}. ")
    if manifest.parity is not None:
        parts.append(f"ONNX vs PyTorch max |diff| {manifest.parity.max_abs_diff:.2e}. ")
    parts.append(f"model.onnx sha256 <code>{manifest.sha256}</code>.</p>")
    curves = curves_png(history)
    if curves:
        parts.append(
            f"<h2>Training curves</h2><img alt='loss and accuracy curves' "
            f"src='data:image/png;base64,{curves}'>"
        )
    if "confusion_matrix" in metrics:
        image = confusion_png(metrics["confusion_matrix"], manifest.labels)
        parts.append(
            f"<h2>Confusion matrix</h2><img alt='confusion matrix' "
            f"src='data:image/png;base64,{image}'>"
        )
    if isinstance(metrics.get("per_class"), dict) and metrics["per_class"]:
        rows = metrics["per_class"]
        columns = list(next(iter(rows.values())).keys())
        parts.append(
            "<h2>Per class</h2><table><tr><th>class</th>"
            + "".join(f"<th>{esc(c)}</th>" for c in columns)
            + "</tr>"
        )
        for label, row in rows.items():
            cells = "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns)
            parts.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
        parts.append("</table>")
    if isinstance(metrics.get("per_class_iou"), dict):
        parts.append("<h2>Per-class IoU</h2><table><tr><th>class</th><th>IoU</th></tr>")
        for label, iou in metrics["per_class_iou"].items():
            parts.append(f"<tr><td>{esc(label)}</td><td>{_cell(iou)}</td></tr>")
        parts.append("</table>")
    parts.extend(section(manifest, history) for section in sections)
    parts.append("<h2>Provenance</h2><table>")
    for key, value in manifest.provenance.items():
        if key != "recipe":
            parts.append(f"<tr><td>{esc(key)}</td><td>{esc(str(value))}</td></tr>")
    parts.append("</table></body></html>\n")
    return "\n".join(parts)
