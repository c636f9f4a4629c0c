"""``lensbox train``: dataset folder in, verified model package out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import emit_json, say
from lensbox.errors import TrainError


def train(
    directory: Path = typer.Argument(..., help="Dataset folder (ImageFolder for classify)."),
    task: str = typer.Option("classify", "--task", help="Task to train."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model package to."),
    epochs: int = typer.Option(
        12, "--epochs", help="Most fine-tuning epochs (early stop may end sooner)."
    ),
    image_size: int = typer.Option(224, "--image-size", help="Square input size in pixels."),
    batch_size: int = typer.Option(32, "--batch-size"),
    val_fraction: float = typer.Option(0.15, "--val-fraction", help="Stratified validation share."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same data: same model."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoints/last.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    progress_file: Path | None = typer.Option(
        None, "--progress-file", help="Also write progress as JSON lines here."
    ),
) -> None:
    """Transfer-learn from ImageNet-pretrained MobileNetV2 and write MODEL (ONNX + manifest)."""
    from lensbox.tasks import get_task
    from lensbox.train.callbacks import RichProgress

    if task != "classify":
        get_task(task)  # unknown names get the list of known tasks
        raise TrainError(f"--task {task}: training is not available for this task yet")
    if not 0 <= val_fraction < 1:
        raise TrainError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if image_size < 32:
        raise TrainError(f"--image-size must be at least 32, got {image_size}")
    from lensbox.train.classify import ClassifyOptions, train_classifier

    options = ClassifyOptions(
        epochs=epochs,
        image_size=image_size,
        batch_size=batch_size,
        val_fraction=val_fraction,
        seed=seed,
        device=device,
        resume=resume,
    )
    progress: Any = RichProgress()
    if progress_file is not None:
        from lensbox.train.callbacks import JsonlProgress

        progress = JsonlProgress(progress_file, progress)
    try:
        outcome = train_classifier(directory, out, options, progress)
    finally:
        progress.close()
    skipped = [p.to_dict() for p in outcome.report.problems]
    if skipped:
        say(f"skipped {len(skipped)} file(s); run `lensbox data check {directory}` for the list")
    summary = {
        "out": str(outcome.out),
        "task": task,
        "labels": outcome.report.labels,
        "val_accuracy": outcome.val_metrics.get("val_accuracy"),
        "val_macro_f1": outcome.val_metrics.get("val_macro_f1"),
        "best_epoch": outcome.best_epoch,
        "parity_max_abs_diff": outcome.parity.max_abs_diff,
        "seconds": round(outcome.seconds, 1),
        "skipped": skipped,
    }
    if as_json:
        emit_json(summary)
    else:
        say(
            f"model package: {outcome.out} (val accuracy {summary['val_accuracy']}, "
            f"report {outcome.out / 'report.html'})"
        )
