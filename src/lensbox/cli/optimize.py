"""``lensbox optimize``: an INT8 package, written only when its held-out metric holds."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say


def optimize(
    model: Path = typer.Argument(..., help="FP32 model package folder or .zip."),
    int8: bool = typer.Option(False, "--int8", help="Static INT8 quantization (QDQ)."),
    calibration: Path | None = typer.Option(
        None,
        "--calibration",
        help="Folder of images like the device's (a few hundred); for a drive model also "
        "sim:TRACK (the frames its own policy sees lapping TRACK); a composer calibrates on its "
        "training pieces and needs none.",
    ),
    eval_dir: Path | None = typer.Option(
        None,
        "--eval",
        help="Labelled held-out data to score both models on (default: the held-out split "
        "recorded at training time).",
    ),
    max_drop: float = typer.Option(
        0.01,
        "--max-drop",
        min=0.0,
        max=1.0,
        help="Largest allowed drop of the task's metric, absolute (0.01 = one point).",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the INT8 package to."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Quantize a package to INT8 and keep it only if the task's metric holds."""
    from lensbox.errors import LensboxError
    from lensbox.optimize.int8 import optimize_int8
    from lensbox.settings import Settings

    if not int8:
        raise LensboxError("say which optimization: --int8 (the one there is)")
    result = optimize_int8(
        model, calibration, out, eval_dir, max_drop, say=say,
        cache_dir=Settings.from_env().composer_cache,
    )  # fmt: skip
    if as_json:
        emit_json(result.to_dict())
        return
    say(
        f"INT8 package: {result.out} ({result.metric} {result.int8:.4f} vs FP32 "
        f"{result.fp32:.4f}, drop {result.drop:.4f}, {result.calibration_images} calibration "
        f"images, {result.seconds:.0f} s)"
    )
