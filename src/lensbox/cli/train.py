"""``lensbox train``: dataset folder in, verified model package out, for every task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import emit_json, say
from lensbox.errors import TrainError


def _headline(task: str, metrics: dict[str, Any]) -> str:
    keys = {
        "classify": ("val_accuracy", "val_macro_f1"),
        "detect": ("map50", "map50_95"),
        "segment": ("miou", "pixel_accuracy"),
        "activity": ("accuracy",),
    }.get(task, ())
    shown = [f"{k} {metrics[k]}" for k in keys if k in metrics]
    where = metrics.get("evaluated_on")
    return ", ".join(shown) + (f" on {where}" if where and shown else "") or "no held-out metrics"


def train(
    directory: Path = typer.Argument(..., help="Dataset folder in the task's format."),
    task: str = typer.Option("classify", "--task", help="classify, detect, segment or activity."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model package to."),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        help="Training epochs (default per task: classify 12, detect 36, segment 40, activity 60).",
    ),
    image_size: int | None = typer.Option(
        None,
        "--image-size",
        help="Input size in pixels (classify 224, detect 320, segment 480 wide, activity 224).",
    ),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    val_fraction: float | None = typer.Option(
        None, "--val-fraction", help="Validation share held out of the training data."
    ),
    split: str | None = typer.Option(
        None,
        "--split",
        help="Dataset split(s) to train on where the data defines them "
        "(detect: train; segment: train,val); 'all' for everything.",
    ),
    ignore_index: int | None = typer.Option(
        None,
        "--ignore-index",
        help="segment: mask value of a void class, left out of the loss and the metrics.",
    ),
    window: int | None = typer.Option(
        None, "--window", help="activity: frames in the sliding window (default 16)."
    ),
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

    if val_fraction is not None and not 0 <= val_fraction < 1:
        raise TrainError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if image_size is not None and image_size < 32:
        raise TrainError(f"--image-size must be at least 32, got {image_size}")
    if epochs is not None and epochs < 0:
        raise TrainError("--epochs must be 0 or more")
    given: dict[str, Any] = {
        "epochs": epochs,
        "image_size": image_size,
        "batch_size": batch_size,
        "val_fraction": val_fraction,
        "split": split,
        "ignore_index": ignore_index,
        "window": window,
    }
    chosen = get_task(task)
    allowed = chosen.train_option_names()
    for name, value in given.items():
        if value is not None and name not in allowed:
            raise TrainError(f"--{name.replace('_', '-')} does not apply to --task {task}")
    options = {k: v for k, v in given.items() if v is not None}
    options.update(seed=seed, device=device, resume=resume)

    progress: Any = RichProgress()
    if progress_file is not None:
        from lensbox.train.callbacks import JsonlProgress

        progress = JsonlProgress(progress_file, progress)
    try:
        outcome = chosen.train(directory, out, options, progress)
    finally:
        progress.close()
    skipped = [p.to_dict() for p in outcome.report.problems]
    if skipped:
        say(f"skipped {len(skipped)} file(s); run `lensbox data check {directory}` for the list")
    metrics = getattr(outcome, "metrics", None) or getattr(outcome, "val_metrics", {})
    summary = {
        "out": str(outcome.out),
        "task": task,
        "labels": outcome.report.labels,
        "metrics": {k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        "parity_max_abs_diff": outcome.parity.max_abs_diff,
        "seconds": round(outcome.seconds, 1),
        "skipped": skipped,
    }
    if task == "classify":
        summary.update(
            val_accuracy=metrics.get("val_accuracy"),
            val_macro_f1=metrics.get("val_macro_f1"),
            best_epoch=outcome.best_epoch,
        )
    if as_json:
        emit_json(summary)
    else:
        say(
            f"model package: {outcome.out} ({_headline(task, metrics)}; report "
            f"{outcome.out / 'report.html'})"
        )
