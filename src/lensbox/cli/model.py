"""``lensbox model import``: bring your own ONNX model."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say

app = typer.Typer(help="Model packages.", no_args_is_help=True)


@app.command("import")
def import_model(
    onnx_file: Path = typer.Argument(..., help="The ONNX model to wrap."),
    task: str = typer.Option("classify", "--task", help="classify, detect or segment."),
    labels: Path = typer.Option(..., "--labels", help="Text file, one label per line."),
    input_size: str = typer.Option(..., "--input-size", help="N or HxW, e.g. 224."),
    scale: float = typer.Option(
        1.0 / 255.0, "--scale", help="Pixels (0-255) are multiplied by this."
    ),
    mean: str = typer.Option("0,0,0", "--mean", help="R,G,B subtracted after scaling."),
    std: str = typer.Option("1,1,1", "--std", help="R,G,B divided by after the mean."),
    color: str = typer.Option("rgb", "--color", help="rgb or bgr channel order."),
    resize: str = typer.Option("stretch", "--resize", help="stretch or center-crop."),
    out: Path = typer.Option(..., "--out", help="Folder to write the package to."),
    boxes_normalized: bool = typer.Option(
        False, "--boxes-normalized", help="detect: post-NMS boxes are 0..1, not input pixels."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Wrap an ONNX model (classify, detect, segment) into a package with its preprocessing."""
    from lensbox.errors import PackageError
    from lensbox.export.importer import import_model

    if color not in ("rgb", "bgr"):
        raise PackageError(f"--color {color!r}: use rgb or bgr")
    if resize not in ("stretch", "center-crop"):
        raise PackageError(f"--resize {resize!r}: use stretch or center-crop")
    package = import_model(
        onnx_file,
        labels,
        out,
        input_size,
        task=task,
        boxes_normalized=boxes_normalized,
        scale=scale,
        mean=mean,
        std=std,
        color=color,
        resize=resize,
    )
    document = {
        "out": str(out),
        "sha256": package.sha256,
        "task": task,
        "labels": len(package.manifest.labels),
        "input": package.manifest.input.model_dump(),
    }
    if as_json:
        emit_json(document)
    else:
        say(f"model package: {out} (sha256 {package.sha256[:12]}…)")
