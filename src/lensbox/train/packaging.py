"""The last step every trainer shares: ONNX export, parity proof, manifest, reports, on disk.

A trainer hands over its PyTorch model in eval mode plus what it knows (labels, metrics,
provenance); this writes a package the runtime can verify, or refuses when ONNX drifts.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import lensbox
from lensbox._atomic import atomic_write_json, atomic_write_text
from lensbox._optional import require
from lensbox.errors import ExportError
from lensbox.export.onnx_export import PARITY_TOLERANCE, embed_metadata, export_onnx, measure_parity
from lensbox.manifest import (
    InputSpec,
    ModelManifest,
    ModelPackage,
    OutputSpec,
    Parity,
    write_package,
)
from lensbox.train.backbones import MOBILENET_V2_FILE, hash_prefix
from lensbox.train.callbacks import TrainProgress


def backbone_provenance() -> dict[str, Any]:
    """Where the pretrained weights came from: shown in every manifest, checked by tests."""
    torch = require("torch", extra="train")
    return {
        "backbone": "mobilenet_v2",
        "pretrained_weights": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1",
        "weights_file": MOBILENET_V2_FILE,
        "weights_sha256_prefix": hash_prefix(MOBILENET_V2_FILE),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lensbox_version": lensbox.__version__,
        "torch_version": str(torch.__version__),
        "python": platform.python_version(),
    }


def export_package(
    *,
    model: Any,
    out: Path,
    task: str,
    labels: list[str],
    spec: InputSpec,
    outputs: list[OutputSpec],
    probe: np.ndarray,
    metrics: dict[str, Any],
    provenance: dict[str, Any],
    task_params: dict[str, Any],
    history: list[dict[str, Any]],
    progress: TrainProgress,
    tolerance: float = PARITY_TOLERANCE,
    extra_files: dict[str, bytes] | None = None,
    extra_parity: Parity | None = None,
) -> ModelPackage:
    """Export ``model`` to ONNX, prove parity on ``probe`` and write the package and reports."""
    from lensbox.train.report import render_report

    torch = require("torch", extra="train")
    progress.stage("export ONNX", 1)
    model = model.to("cpu").eval()
    example = torch.from_numpy(probe[:1].astype(np.float32))
    onnx_bytes = export_onnx(model, example, output_names=tuple(o.name for o in outputs))
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
    progress.advance()
    manifest = ModelManifest(
        name=out.name,
        task=task,
        labels=labels,
        input=spec,
        outputs=outputs,
        sha256="0" * 64,
        provenance=provenance,
        metrics=metrics,
        parity=parity,
        task_params=task_params,
    )
    card = manifest.model_dump(mode="json", exclude={"sha256", "metrics", "provenance"})
    package = write_package(out, embed_metadata(onnx_bytes, card), manifest, extra_files)
    atomic_write_json(out / "history.json", history)
    atomic_write_text(out / "report.html", render_report(package.manifest, history))
    return package


def rewrite_metrics(
    out: Path,
    manifest: ModelManifest,
    metrics: dict[str, Any],
    provenance: dict[str, Any],
    history: list[dict[str, Any]],
) -> ModelManifest:
    """Put held-out metrics (measured on the exported ONNX) into the manifest and report.

    model.onnx is untouched, so its checksum stays valid."""
    from lensbox.manifest import MANIFEST_FILE
    from lensbox.train.report import render_report

    final = manifest.model_copy(update={"metrics": metrics, "provenance": provenance})
    atomic_write_json(out / MANIFEST_FILE, final.model_dump(mode="json"))
    atomic_write_text(out / "report.html", render_report(final, history))
    return final
