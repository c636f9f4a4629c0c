"""``lensbox project init TEMPLATE DIR``: start a project from a template."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbox.cli._common import emit_json, say

app = typer.Typer(
    help="Projects: a model, an inference function and its config.", no_args_is_help=True
)


@app.command("init")
def init(
    template: str = typer.Argument(..., help="Template name, e.g. trash-sorter."),
    directory: Path = typer.Argument(..., help="Folder to write the project to."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the template's project.json (editable config) and function.py into DIR."""
    from lensbox.projects import init_project

    written = init_project(template, directory, force=force)
    if as_json:
        emit_json(
            {"template": template, "directory": str(directory), "files": [str(p) for p in written]}
        )
        return
    for path in written:
        say(f"wrote {path}")
    say(f"run it: lensbox run MODEL --source SRC --function {directory / 'function.py'}")


@app.command("list")
def list_templates() -> None:
    """List the project templates."""
    from lensbox.projects import template_names

    for name in template_names():
        print(name)
