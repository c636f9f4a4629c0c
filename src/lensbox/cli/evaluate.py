"""``lensbox evaluate`` and ``lensbox predict``: run the ONNX package, as a device would."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say
from lensbox.errors import ImageError


def evaluate(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    directory: Path = typer.Argument(..., help="Labelled data in the task's format."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix, with onnxruntime."""
    from lensbox.manifest import load_package
    from lensbox.tasks import get_task

    task = get_task(load_package(model).manifest.task)
    result = task.evaluate(model, directory, {})
    if as_json:
        emit_json(result)
        return
    say(f"{result['n_images']} images, {result['images_per_second']} images/s")
    print(f"accuracy {result['accuracy']:.4f}  macro F1 {result['macro_f1']:.4f}")
    for label, row in result["per_class"].items():
        if row["support"]:
            print(
                f"  {label:<24} precision {row['precision']:.3f}  recall {row['recall']:.3f}"
                f"  f1 {row['f1']:.3f}  n={row['support']}"
            )
    for pair in result["most_confused"]:
        print(f"  confused: {pair['true']} -> {pair['predicted']} ({pair['count']})")


def predict(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    images: list[Path] = typer.Argument(..., help="One or more image files."),
    top_k: int = typer.Option(3, "--top-k", min=1, help="How many labels to list per image."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Label each image; a file that cannot be read is reported and the rest still run."""
    from lensbox.data.images import load_rgb
    from lensbox.runtime.engine import Engine

    engine = Engine.open(model).with_task_params(top_k=top_k)
    predictions = []
    errors = []
    for path in images:
        try:
            payload = engine.predict([load_rgb(path)])[0]
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
