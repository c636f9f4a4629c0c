"""``lensbox bench``: the bare engine's images per second, latency and memory."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import BACKEND_HELP, emit_json, say


def bench(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
    batch: int = typer.Option(1, "--batch", min=1, max=256, help="Images per inference."),
    seconds: float = typer.Option(10.0, "--seconds", min=0.1, help="How long to measure."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Inference threads (default: all cores)."
    ),
    images: Path | None = typer.Option(
        None, "--images", help="A folder of images to use (default: synthetic frames)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Measure the bare engine (no pipeline): img/s, latency p50/p95, peak RSS."""
    from lensbox.runtime.bench import bench_engine
    from lensbox.runtime.engine import Engine

    engine = Engine.open(model, threads=threads, backend=backend)
    result = bench_engine(engine, batch, seconds, images)
    if as_json:
        emit_json(result)
        return
    say(
        f"{result['model']} ({result['precision']}, {result['backend']}, batch {batch}): "
        f"{result['images_per_second']} img/s, latency p50 {result['latency_ms']['p50']} ms, "
        f"p95 {result['latency_ms']['p95']} ms, peak RSS {result['peak_rss_mb']} MB"
    )
