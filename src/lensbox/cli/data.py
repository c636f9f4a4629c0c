"""``lensbox data check DIR``: per-class counts and one line per bad file."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say
from lensbox.data.imagefolder import scan_imagefolder

app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)


@app.command("check")
def check(
    directory: Path = typer.Argument(..., help="An ImageFolder tree: one subfolder per class."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Validate every image; exit 0 when the data can train, 1 when it cannot."""
    report = scan_imagefolder(directory)
    if as_json:
        emit_json(report.to_dict())
    else:
        for problem in report.problems:
            print(f"{problem.kind}: {problem.message}")
        counts = report.counts()
        for name, count in counts.items():
            say(f"  {name:<24} {count:>6} images")
        say(
            f"{len(report.samples)} usable images in {len(counts)} classes, "
            f"{len(report.problems)} problem(s)"
        )
        for error in report.errors:
            say(f"error: {report.root}: {error}")
    raise typer.Exit(0 if report.can_train else 1)
