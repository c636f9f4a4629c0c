"""The ``lensbox`` command: thin typer commands over the modules that do the work.

A ``LensboxError`` is printed as one line on stderr with a non-zero exit; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import sys

import typer

from lensbox.cli import composer as _composer
from lensbox.cli import console as _console
from lensbox.cli import data as _data
from lensbox.cli import model as _model
from lensbox.cli import project as _project
from lensbox.cli import racer as _racer
from lensbox.cli.bench import bench
from lensbox.cli.demo import demo
from lensbox.cli.evaluate import evaluate, predict
from lensbox.cli.optimize import optimize
from lensbox.cli.run import run
from lensbox.cli.train import TaskFlagsCommand, train
from lensbox.errors import LensboxError

app = typer.Typer(
    name="lensbox",
    help="Local-first computer vision: data -> train -> ONNX package -> device runtime.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(_data.app, name="data")
app.command(
    "train",
    cls=TaskFlagsCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(train)
app.command("evaluate")(evaluate)
app.command("predict")(predict)
app.command("demo")(demo)
app.command("run")(run)
app.command("bench")(bench)
app.command("optimize")(optimize)
app.add_typer(_model.app, name="model")
app.add_typer(_project.app, name="project")
app.add_typer(_racer.app, name="racer")
app.add_typer(_composer.app, name="composer")
app.command("console")(_console.serve)
app.command("deploy")(_console.deploy)
app.add_typer(_console.device_app, name="device")
_model.app.command("push")(_console.model_push)
_model.app.command("list")(_console.model_list)
_project.app.command("create")(_console.project_create)
_project.app.command("update")(_console.project_update)

_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    _state["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning expected errors into one line and exit code 1."""
    try:
        app(args=argv, standalone_mode=True)
    except LensboxError as exc:
        if _state["debug"]:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
