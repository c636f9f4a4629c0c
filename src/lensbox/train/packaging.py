"""The last step every trainer shares: ONNX export, parity proof, manifest, held-out metrics
measured on the exported package, reports, on disk.

A trainer hands over its PyTorch model in eval mode plus what it knows (labels, provenance, a
way to score the package); this writes a package the runtime can verify, or refuses when ONNX
drifts. The metrics are measured with onnxruntime on the files a device will run, then written
into the manifest and the report; model.onnx is untouched by that, so its checksum holds.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._atomic import atomic_write_json, atomic_write_text
from lensbox._optional import require
from lensbox._version import __version__
from lensbox.errors import ExportError
from lensbox.export.onnx_export import PARITY_TOLERANCE, embed_metadata, export_onnx, measure_parity
from lensbox.manifest import (
    MANIFEST_FILE,
    REPORT_FILE,
    InputSpec,
    ModelManifest,
    OutputSpec,
    Parity,
    write_package,
)
from lensbox.tasks import DataReport, EngineLike
from lensbox.train.backbones import MOBILENET_V2_FILE, hash_prefix
from lensbox.train.callbacks import TrainProgress
from lensbox.train.loop import TrainOptions
from lensbox.train.registry import ReportSection, TrainResult


def backbone_provenance() -> dict[str, Any]:
    """Where the pretrained weights came from: shown in every manifest, checked by tests."""
    return {
        "backbone": "mobilenet_v2",
        "pretrained_weights": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1",
        "weights_file": MOBILENET_V2_FILE,
        "weights_sha256_prefix": hash_prefix(MOBILENET_V2_FILE),
    }


def run_provenance(report: DataReport, options: TrainOptions) -> dict[str, Any]:
    """What every manifest records about the data and the run, whatever the task."""
    torch = require("torch", extra="train")
    return {
        "dataset_path": str(Path(report.root).resolve()),
        "dataset_sha256": report.fingerprint(),
        "skipped_files": len(report.problems),
        "recipe": options.recipe(),
        "seed": options.seed,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lensbox_version": __version__,
        "torch_version": str(torch.__version__),
        "python": platform.python_version(),
    }


def _export_verified(
    model: Any,
    probe: np.ndarray,
    outputs: list[OutputSpec],
    tolerance: float,
    extra_parity: Parity | None,
    extra_dynamic: dict[int, str] | None = None,
) -> tuple[bytes, Parity]:
    torch = require("torch", extra="train")
    model = model.to("cpu").eval()
    example = torch.from_numpy(probe[:1].astype(np.float32))
    onnx_bytes = export_onnx(
        model, example, output_names=tuple(o.name for o in outputs), extra_dynamic=extra_dynamic
    )
    parity = measure_parity(onnx_bytes, model, probe, tolerance=tolerance)
    if not parity.passed:
        raise ExportError(
            f"ONNX output differs from PyTorch by {parity.max_abs_diff:.2e} "
            f"(tolerance {parity.tolerance:.0e}); the export is not trustworthy"
        )
    if extra_parity is not None:
        # One figure for the package: the worse of its graphs.
        parity = Parity(
            max_abs_diff=max(parity.max_abs_diff, extra_parity.max_abs_diff),
            tolerance=tolerance,
            n_samples=parity.n_samples + extra_parity.n_samples,
            passed=parity.passed and extra_parity.max_abs_diff <= tolerance,
        )
        if not parity.passed:
            raise ExportError(
                f"an extra graph's ONNX output differs from PyTorch by "
                f"{extra_parity.max_abs_diff:.2e}; the export is not trustworthy"
            )
    return onnx_bytes, parity


def package_model(
    *,
    model: Any,
    out: Path,
    task: str,
    labels: list[str],
    spec: InputSpec,
    outputs: list[OutputSpec],
    probe: np.ndarray,
    report: DataReport,
    options: TrainOptions,
    provenance: dict[str, Any],
    task_params: dict[str, Any],
    history: list[dict[str, Any]],
    progress: TrainProgress,
    started: float,
    score: Callable[[EngineLike], dict[str, Any]] | None = None,
    score_folder: Callable[[Path], dict[str, Any]] | None = None,
    best_epoch: int | None = None,
    tolerance: float = PARITY_TOLERANCE,
    extra_files: dict[str, bytes] | None = None,
    extra_parity: Parity | None = None,
    report_sections: tuple[ReportSection, ...] = (),
    extra_dynamic: dict[int, str] | None = None,
) -> TrainResult:
    """Export ``model`` to ONNX, prove parity on ``probe``, write the package, score it with
    ``score`` (on the exported package, through onnxruntime; ``score_folder`` instead for a
    package that is not a vision model, such as a composer's) and write manifest and reports."""
    from lensbox.runtime.engine import Engine
    from lensbox.train.report import render_report

    progress.stage("export ONNX", 1)
    onnx_bytes, parity = _export_verified(
        model, probe, outputs, tolerance, extra_parity, extra_dynamic
    )
    progress.advance()
    manifest = ModelManifest(
        name=out.name,
        task=task,
        labels=labels,
        input=spec,
        outputs=outputs,
        sha256="0" * 64,
        provenance={},
        metrics={},
        parity=parity,
        task_params=task_params,
    )
    card = manifest.model_dump(mode="json", exclude={"sha256", "metrics", "provenance"})
    package = write_package(out, embed_metadata(onnx_bytes, card), manifest, extra_files)

    metrics: dict[str, Any] = {"best_epoch": best_epoch} if best_epoch is not None else {}
    if score is not None or score_folder is not None:
        progress.stage("evaluate the exported package", 1)
        if score is not None:
            scored = score(Engine.open(out))
        else:
            assert score_folder is not None
            scored = score_folder(out)
        if scored:
            metrics.update({"evaluated_with": "onnxruntime", **scored})
        progress.advance()
    seconds = time.perf_counter() - started
    full_provenance = {
        **run_provenance(report, options),
        **provenance,
        "train_seconds": round(seconds, 1),
    }
    final = package.manifest.model_copy(update={"metrics": metrics, "provenance": full_provenance})
    atomic_write_json(out / MANIFEST_FILE, final.model_dump(mode="json"))
    atomic_write_json(out / "history.json", history)
    atomic_write_text(out / REPORT_FILE, render_report(final, history, report_sections))
    headline = ", ".join([f"{k} {v}" for k, v in metrics.items() if isinstance(v, float)][:3])
    progress.message(
        f"saved {out} ({headline or 'no held-out metrics'}, "
        f"parity {parity.max_abs_diff:.1e}, {seconds:.0f}s)"
    )
    return TrainResult(
        out=out,
        task=task,
        labels=labels,
        history=history,
        metrics=metrics,
        parity=parity,
        report=report,
        seconds=seconds,
        best_epoch=best_epoch,
    )
