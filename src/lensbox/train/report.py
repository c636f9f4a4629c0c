"""report.html: curves and confusion matrix as embedded PNGs, readable offline in any browser."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from lensbox._optional import require
from lensbox.manifest import ModelManifest


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def curves_png(history: list[dict[str, Any]]) -> str | None:
    matplotlib = require("matplotlib", extra="train")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="train")
    rows = [h for h in history if h.get("stage") == "fine-tune"]
    if not rows:
        return None
    epochs = [h["epoch"] for h in rows]
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    loss_ax.plot(epochs, [h["train_loss"] for h in rows], "o-", label="train")
    loss_ax.plot(epochs, [h["val_loss"] for h in rows], "o-", label="validation")
    loss_ax.set(title="Loss", xlabel="epoch")
    acc_ax.plot(epochs, [h["train_accuracy"] for h in rows], "o-", label="train")
    acc_ax.plot(epochs, [h["val_accuracy"] for h in rows], "o-", label="validation")
    acc_ax.set(title="Accuracy", xlabel="epoch", ylim=(0, 1.02))
    for axis in (loss_ax, acc_ax):
        axis.grid(alpha=0.3)
        axis.legend()
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def confusion_png(matrix: list[list[int]], labels: list[str]) -> str:
    matplotlib = require("matplotlib", extra="train")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="train")
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
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def render_report(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
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
        f"Validation accuracy <b>{metrics.get('val_accuracy', 'n/a')}</b>, macro F1 "
        f"<b>{metrics.get('val_macro_f1', 'n/a')}</b> on {metrics.get('n_val', 0)} images "
        f"(evaluated with {esc(str(metrics.get('evaluated_with', 'n/a')))}). ",
    ]
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
    if "per_class" in metrics:
        parts.append(
            "<h2>Per class</h2><table><tr><th>class</th><th>precision</th>"
            "<th>recall</th><th>f1</th><th>support</th></tr>"
        )
        for label, row in metrics["per_class"].items():
            parts.append(
                f"<tr><td>{esc(label)}</td><td>{row['precision']:.3f}</td>"
                f"<td>{row['recall']:.3f}</td><td>{row['f1']:.3f}</td><td>{row['support']}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Provenance</h2><table>")
    for key, value in manifest.provenance.items():
        if key != "recipe":
            parts.append(f"<tr><td>{esc(key)}</td><td>{esc(str(value))}</td></tr>")
    parts.append("</table></body></html>\n")
    return "\n".join(parts)
