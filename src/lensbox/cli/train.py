"""``lensbox train``: dataset folder in, verified model package out, for every task.

The flags beyond the common ones are the task's own: the fields of its registered trainer's
options (``--epochs``, ``--image-size``, ``--ignore-index``...), read here by name and converted
to the field's type, so a new task brings its flags with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from lensbox.cli._common import emit_json, say
from lensbox.errors import TrainError


class TaskFlagsCommand(TyperCommand):
    """``lensbox train --help`` lists every task's own flags, read from the trainer registry
    only when help is asked for (so other commands never import the trainers)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.epilog = flags_help()
        super().format_help(ctx, formatter)


def flags_help() -> str:
    """Each trainable task's flags with their defaults, for ``lensbox train --help``."""
    from lensbox.train import get_trainer, trainer_names

    lines = ["Task options (--NAME VALUE), with their defaults:"]
    for name in trainer_names():
        flags = get_trainer(name).flags()
        shown = ", ".join(f"{f.option} {f.default}" for f in flags)
        lines.append(f"{name}: {shown}")
    return "\n\n".join(lines)


def parse_task_flags(args: list[str], task: str) -> dict[str, Any]:
    """``--image-size 64 --no-x --split=all`` -> typed values for the task's options."""
    from lensbox.train import get_trainer

    flags = {f.name: f for f in get_trainer(task).flags()}
    given: dict[str, Any] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("--"):
            raise TrainError(f"unexpected argument {arg!r}; lensbox train takes one dataset folder")
        key, _, inline = arg[2:].partition("=")
        name = key.replace("-", "_")
        negated = name.startswith("no_") and name[3:] in flags and flags[name[3:]].type is bool
        flag = flags.get(name[3:] if negated else name)
        if flag is None:
            raise TrainError(f"--{key} does not apply to --task {task}")
        if flag.type is bool:
            given[flag.name] = not negated
            index += 1
            continue
        if inline:
            text = inline
            index += 1
        elif index + 1 < len(args):
            text = args[index + 1]
            index += 2
        else:
            raise TrainError(f"--{key} needs a value")
        try:
            given[flag.name] = flag.type(text)
        except ValueError:
            raise TrainError(
                f"--{key} {text!r}: expected {flag.type.__name__} (default {flag.default})"
            ) from None
    return given


def train(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Dataset folder in the task's format."),
    task: str = typer.Option("classify", "--task", help="The task to train (see below)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model package to."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same data: same model."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoints/last.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    progress_file: Path | None = typer.Option(
        None, "--progress-file", help="Also write progress as JSON lines here."
    ),
    int8: bool = typer.Option(
        False,
        "--int8",
        help="Also write OUT-int8: INT8, calibrated on the training images, kept only if its "
        "held-out metric drops by at most one point (as `lensbox optimize --int8`).",
    ),
) -> None:
    """Transfer-learn from ImageNet-pretrained MobileNetV2 and write MODEL (ONNX + manifest)."""
    from lensbox.train import get_trainer
    from lensbox.train.callbacks import JsonlProgress, RichProgress

    trainer = get_trainer(task)
    given = parse_task_flags(list(ctx.args), task)
    options = trainer.make_options({**given, "seed": seed, "device": device, "resume": resume})

    progress: Any = RichProgress()
    if progress_file is not None:
        progress = JsonlProgress(progress_file, progress)
    try:
        outcome = trainer.train(directory, out, options, progress)
    finally:
        progress.close()
    skipped = [p.to_dict() for p in outcome.report.problems]
    if skipped:
        say(f"skipped {len(skipped)} file(s); run `lensbox data check {directory}` for the list")
    metrics = outcome.metrics
    summary = {
        "out": str(outcome.out),
        "task": task,
        "labels": outcome.labels,
        "metrics": {k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        **{key: metrics.get(key) for key in trainer.headline},
        "parity_max_abs_diff": outcome.parity.max_abs_diff if outcome.parity else None,
        "seconds": round(outcome.seconds, 1),
        "skipped": skipped,
    }
    if outcome.best_epoch is not None:
        summary["best_epoch"] = outcome.best_epoch
    if int8:
        summary["int8"] = _int8_sibling(outcome.out, Path(outcome.report.root))
    if as_json:
        emit_json(summary)
        return
    shown = [f"{k} {metrics[k]}" for k in trainer.headline if k in metrics]
    where = metrics.get("evaluated_on")
    headline = ", ".join(shown) + (f" on {where}" if where and shown else "")
    say(
        f"model package: {outcome.out} ({headline or 'no held-out metrics'}; report "
        f"{outcome.out / 'report.html'})"
    )


def _int8_sibling(package: Path, images: Path) -> dict[str, Any]:
    """The optional INT8 package beside the FP32 one; a refusal is reported, not fatal: the
    FP32 model is what training promised."""
    from lensbox.errors import LensboxError
    from lensbox.optimize.int8 import optimize_int8

    try:
        result = optimize_int8(package, images, package.with_name(package.name + "-int8"), say=say)
    except LensboxError as exc:
        say(f"INT8 not written: {exc}")
        return {"written": False, "reason": str(exc)}
    say(f"INT8 package: {result.out} ({result.metric} {result.int8} vs FP32 {result.fp32})")
    return {"written": True, **result.to_dict()}
