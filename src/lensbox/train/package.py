"""Turn a trained PyTorch classifier into a verified model package with its reports."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import lensbox
from lensbox._atomic import atomic_write_json, atomic_write_text
from lensbox._optional import require
from lensbox.data.imagefolder import DatasetReport
from lensbox.errors import ExportError
from lensbox.export.onnx_export import embed_metadata, export_onnx, measure_parity
from lensbox.manifest import ModelManifest, OutputSpec, write_package
from lensbox.tasks.classify import classification_metrics
from lensbox.train.backbones import MOBILENET_V2_FILE, hash_prefix
from lensbox.train.callbacks import TrainProgress
from lensbox.train.report import render_report


def package_classifier(
    *,
    model: Any,
    out: Path,
    report: DatasetReport,
    spec: Any,
    options: Any,
    history: list[dict[str, Any]],
    best_epoch: int,
    val_tensors: np.ndarray | None,
    val_labels: list[int],
    started: float,
    progress: TrainProgress,
    outcome_type: type,
) -> Any:
    torch = require("torch", extra="train")
    ort = require("onnxruntime", extra="runtime")
    progress.stage("export ONNX", 1)
    example = torch.zeros(1, 3, spec.height, spec.width)
    onnx_bytes = export_onnx(model, example)
    probe = val_tensors[:16] if val_tensors is not None and len(val_tensors) else example.numpy()
    parity = measure_parity(onnx_bytes, model, probe)
    if not parity.passed:
        raise ExportError(
            f"ONNX output differs from PyTorch by {parity.max_abs_diff:.2e} "
            f"(tolerance {parity.tolerance:.0e}); the export is not trustworthy"
        )
    progress.advance()

    metrics: dict[str, Any] = {"best_epoch": best_epoch}
    if val_tensors is not None and len(val_tensors):
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        logits = np.concatenate(
            [
                session.run(None, {"input": val_tensors[i : i + 64]})[0]
                for i in range(0, len(val_tensors), 64)
            ]
        )
        evaluated = classification_metrics(np.array(val_labels), logits.argmax(1), report.labels)
        metrics.update(
            {f"val_{k}" if k in ("accuracy", "macro_f1") else k: v for k, v in evaluated.items()}
        )
        metrics["n_val"] = len(val_labels)
        metrics["evaluated_with"] = "onnxruntime"

    seconds = time.perf_counter() - started
    counts = report.counts()
    provenance = {
        "dataset_path": str(report.root.resolve()),
        "dataset_sha256": report.fingerprint(),
        "class_counts": counts,
        "n_train": len(report.samples) - len(val_labels),
        "n_val": len(val_labels),
        "skipped_files": len(report.problems),
        "backbone": "mobilenet_v2",
        "pretrained_weights": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1",
        "weights_file": MOBILENET_V2_FILE,
        "weights_sha256_prefix": hash_prefix(MOBILENET_V2_FILE),
        "epochs": options.epochs,
        "epochs_run": max((h["epoch"] for h in history), default=0),
        "best_epoch": best_epoch,
        "seed": options.seed,
        "recipe": options.recipe(),
        "train_seconds": round(seconds, 1),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lensbox_version": lensbox.__version__,
        "torch_version": str(torch.__version__),
        "python": platform.python_version(),
    }
    manifest = ModelManifest(
        name=out.name,
        task="classify",
        labels=report.labels,
        input=spec,
        outputs=[OutputSpec(name="logits", kind="logits", decode="softmax")],
        sha256="0" * 64,
        provenance=provenance,
        metrics=metrics,
        parity=parity,
        task_params={"top_k": min(3, len(report.labels))},
    )
    card = manifest.model_dump(mode="json", exclude={"sha256", "metrics", "provenance"})
    onnx_bytes = embed_metadata(onnx_bytes, card)
    package = write_package(out, onnx_bytes, manifest)
    atomic_write_json(out / "history.json", history)
    atomic_write_text(out / "report.html", render_report(package.manifest, history))
    progress.message(
        f"saved {out} (val accuracy {metrics.get('val_accuracy', 'n/a')}, "
        f"parity {parity.max_abs_diff:.1e}, {seconds:.0f}s)"
    )
    return outcome_type(
        out=out,
        history=history,
        best_epoch=best_epoch,
        val_metrics=metrics,
        parity=parity,
        report=report,
        seconds=seconds,
    )
