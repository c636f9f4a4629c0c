"""``lensbox data check DIR``: what the data holds and one line per bad file."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say

app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)


@app.command("check")
def check(
    directory: Path = typer.Argument(
        ...,
        help="A dataset: ImageFolder (classify), VOC/YOLO/COCO (detect), images+masks "
        "(segment) or clip folders (activity).",
    ),
    task: str = typer.Option(
        "auto",
        "--task",
        help="auto (guess from the layout), classify, detect, segment or activity.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Validate every file; exit 0 when the data can train, 1 when it cannot."""
    from lensbox.tasks import get_task, guess_task

    name = task if task != "auto" else guess_task(directory)
    report = get_task(name).check_data(directory)
    document = {"task": name, **report.to_dict()}
    if as_json:
        emit_json(document)
    else:
        for problem in report.problems:
            print(f"{problem.kind}: {problem.message}")
        say(f"{name} dataset {directory}")
        for key, value in document.items():
            if key in ("problems", "errors", "root", "task", "ok", "empty_classes"):
                continue
            if isinstance(value, dict):
                for inner, count in list(value.items())[:40]:
                    say(f"  {key} {inner:<24} {count}")
            elif isinstance(value, list):
                say(
                    f"  {key}: {', '.join(map(str, value[:20]))}{' ...' if len(value) > 20 else ''}"
                )
            else:
                say(f"  {key}: {value}")
        say(f"{len(report.problems)} problem(s)")
        for error in report.errors:
            say(f"error: {report.root}: {error}")
    raise typer.Exit(0 if report.can_train else 1)
