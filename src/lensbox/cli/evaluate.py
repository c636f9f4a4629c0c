"""``lensbox evaluate`` and ``lensbox predict``: run the ONNX package, as a device would."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import BACKEND_HELP, emit_json, say
from lensbox.errors import ImageError


def evaluate(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    directory: Path = typer.Argument(..., help="Labelled data in the task's format."),
    split: str | None = typer.Option(
        None,
        "--split",
        help="detect/segment: the split to score (default: test where the data has one, else all).",
    ),
    ignore_index: int | None = typer.Option(
        None,
        "--ignore-index",
        help="segment: mask value left out of the metrics (default: "
        "the one the model was trained with).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
) -> None:
    """Score a package on labelled data with onnxruntime: accuracy, mAP, mIoU per task."""
    from lensbox.evaluation import evaluate_package
    from lensbox.manifest import load_package
    from lensbox.tasks import get_evaluator

    unit = get_evaluator(load_package(model).manifest.task).unit
    result = evaluate_package(
        model, directory, {"split": split, "ignore_index": ignore_index}, backend=backend
    )
    if as_json:
        emit_json(result)
        return
    say(f"{result.get(f'n_{unit}')} {unit} from {directory}")
    for key, value in result.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and key != f"n_{unit}":
            print(f"{key:<22} {value}")
    per_class = result.get("per_class") or result.get("per_class_iou") or {}
    for label, row in per_class.items():
        if isinstance(row, dict):
            cells = "  ".join(f"{k} {v}" for k, v in row.items())
        else:
            cells = f"IoU {row}"
        print(f"  {label:<24} {cells}")
    for pair in result.get("most_confused", []):
        print(f"  confused: {pair['true']} -> {pair['predicted']} ({pair['count']})")


def predict(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    images: list[Path] = typer.Argument(
        ..., help="One or more image files (video clips for an activity model)."
    ),
    top_k: int = typer.Option(3, "--top-k", min=1, help="How many labels to list per image."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Label each image; a file that cannot be read is reported and the rest still run."""
    from lensbox.results import public
    from lensbox.runtime.engine import Engine

    engine = Engine.open(model).with_task_params(top_k=top_k)
    predictions = []
    errors = []
    for path in images:
        try:
            payload = public(engine.task.predict_file(engine, path))
        except ImageError as exc:
            errors.append({"path": str(path), "error": str(exc)})
            say(f"error: {exc}")
            continue
        predictions.append({"path": str(path), **payload})
        if not as_json:
            print(f"{path}: {engine.task.summary(payload)}")
    if as_json:
        emit_json(
            {
                "model": {"name": engine.name, "sha256": engine.sha256},
                "predictions": predictions,
                "errors": errors,
            }
        )
    if errors:
        raise typer.Exit(1)
