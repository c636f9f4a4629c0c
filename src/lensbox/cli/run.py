"""``lensbox run MODEL --source SRC``: the device runtime from the command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import BACKEND_HELP, emit_json, say


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    source: str = typer.Option(
        ...,
        "--source",
        help="Camera index (0), video file, rtsp:// or http:// URL, image folder, or 'test'.",
    ),
    function: Path | None = typer.Option(
        None,
        "--function",
        help="Inference function file (process(result, context)) or project folder.",
    ),
    port: int = typer.Option(
        8080, "--port", help="HTTP port for the streams; 0 disables the server."
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    mqtt: str | None = typer.Option(None, "--mqtt", help="mqtt://HOST:PORT/TOPIC"),
    results: Path | None = typer.Option(
        None, "--results", help="Append results to this JSONL file."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Record the project stream as MP4 segments here."
    ),
    max_frames: int | None = typer.Option(
        None, "--max-frames", min=1, help="Stop after N results."
    ),
    stats: Path | None = typer.Option(
        None, "--stats", help="Write run statistics (JSON) here at exit."
    ),
    realtime: bool | None = typer.Option(
        None,
        "--realtime/--all-frames",
        help="Newest frame only, dropping stale ones (default for cameras and URLs), or every "
        "frame in order (default for files and folders).",
    ),
    loop: bool = typer.Option(False, "--loop", help="Replay a file or folder when it ends."),
    print_results: bool = typer.Option(False, "--print", help="Print every result on stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print the final statistics as JSON."),
    settings: list[str] = typer.Option(
        [],
        "--set",
        help="Override a decoding parameter: score_threshold=0.4 (detect), "
        "include_mask=true (segment), top_k=5 (classify). Repeatable.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log connections and reconnections."
    ),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
) -> None:
    """Run a model package on a video source with both live streams and result sinks."""
    from lensbox.runtime.device import Device, DeviceOptions

    setup_logging(verbose)
    options = DeviceOptions(
        model=model,
        source=source,
        function=function,
        host=host,
        port=port or None,
        mqtt=mqtt,
        results=results,
        record=record,
        max_frames=max_frames,
        stats=stats,
        realtime=realtime,
        loop=loop,
        task_params=parse_settings(settings),
        backend=backend,
    )

    def show(message: object) -> None:
        print(getattr(message, "text", ""), flush=True)

    serve_until_done(Device.build(options, on_result=show if print_results else None), as_json)


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON (numbers, true/false) or else as text."""
    import json

    from lensbox.errors import LensboxError

    parsed: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LensboxError(f"--set {item!r}: expected KEY=VALUE, e.g. score_threshold=0.4")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def serve_until_done(device: Any, as_json: bool) -> None:
    """Start a device, say where its streams are, block until it ends, report, exit 1 if failed."""
    device.start()
    if device.server is not None:
        say(f"device and project streams: {device.server.url}/  (Ctrl-C to stop)")
    summary = device.run_until_done()
    if as_json:
        emit_json(summary)
    else:
        say(
            f"{summary['frames']} frames, {summary['fps']} fps, dropped {summary['dropped']}, "
            f"latency p50 {summary['latency_ms']['p50']} ms"
        )
    if summary["state"] == "failed":
        raise typer.Exit(1)
