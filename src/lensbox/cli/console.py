"""Console commands: serve it, script against it, and run a device agent that follows it.

Client commands take ``--console URL --key KEY`` or ``LENSBOX_CONSOLE`` / ``LENSBOX_KEY`` and
print one JSON document each.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import emit_json, say
from lensbox.errors import LensboxError

ConsoleOpt = typer.Option(None, "--console", envvar="LENSBOX_CONSOLE", help="Console URL.")
KeyOpt = typer.Option(None, "--key", envvar="LENSBOX_KEY", help="Admin API key.")

device_app = typer.Typer(
    help="Devices: register, list, and run the device agent.", no_args_is_help=True
)


def _client(console: str | None, key: str | None) -> Any:
    from lensbox.console.client import ConsoleClient

    if not console or not key:
        raise LensboxError(
            "pass --console URL and --key KEY (or set LENSBOX_CONSOLE and LENSBOX_KEY)"
        )
    return ConsoleClient(console, key)


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data: Path = typer.Option(
        Path("lensbox-console"), "--data", help="Artefacts, database, admin.key."
    ),
    db: str | None = typer.Option(None, "--db", help="SQLAlchemy URL (default: SQLite in --data)."),
    max_upload_mb: int = typer.Option(
        512, "--max-upload-mb", min=1, help="Largest upload accepted."
    ),
    mqtt: str | None = typer.Option(
        None, "--mqtt", help="mqtt://HOST:PORT: keep what devices publish to lensbox/+/results."
    ),
) -> None:
    """Serve the console (web UI and REST API under /api/v1)."""
    from lensbox._optional import require
    from lensbox.console.app import create_app
    from lensbox.console.settings import ConsoleSettings

    uvicorn = require("uvicorn", extra="console")
    settings = ConsoleSettings(
        data=data, db_url=db, max_upload_bytes=max_upload_mb << 20, mqtt=mqtt
    )
    app = create_app(settings)
    if app.state.new_admin_key:
        say(f"admin key (shown once, also in {data / 'admin.key'}): {app.state.new_admin_key}")
    say(f"console on http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)


def model_push(
    model: Path = typer.Argument(..., help="Model package folder or .zip."),
    console: str | None = ConsoleOpt,
    key: str | None = KeyOpt,
) -> None:
    """Upload a model package; prints {"id", "version", "sha256"}."""
    from lensbox.manifest import load_package, zip_package

    client = _client(console, key)
    package = load_package(model)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / f"{package.manifest.name}.zip"
        if model.is_file():
            shutil.copyfile(model, archive)
        else:
            zip_package(package.root, archive)
        emit_json(client.upload("/api/v1/models", archive))


def model_list(console: str | None = ConsoleOpt, key: str | None = KeyOpt) -> None:
    """Models on the console, every version."""
    emit_json(_client(console, key).json("GET", "/api/v1/models"))


def project_create(
    name: str = typer.Argument(...),
    model: int = typer.Option(..., "--model", help="Model id (from model push)."),
    template: str | None = typer.Option(None, "--template", help="e.g. trash-sorter"),
    console: str | None = ConsoleOpt,
    key: str | None = KeyOpt,
) -> None:
    """Create a project from a model (and a template's function and config)."""
    client = _client(console, key)
    emit_json(
        client.json(
            "POST", "/api/v1/projects", {"name": name, "model_id": model, "template": template}
        )
    )


def project_update(
    name: str = typer.Argument(...),
    model: int = typer.Option(..., "--model", help="New model id."),
    console: str | None = ConsoleOpt,
    key: str | None = KeyOpt,
) -> None:
    """Make a new project version with another model."""
    emit_json(_client(console, key).json("PATCH", f"/api/v1/projects/{name}", {"model_id": model}))


@device_app.command("add")
def device_add(
    name: str = typer.Argument(...),
    group: str | None = typer.Option(None, "--group", help="A group to deploy to at once."),
    console: str | None = ConsoleOpt,
    key: str | None = KeyOpt,
) -> None:
    """Register a device; prints {"id", "token"} (the token is shown only now)."""
    body = {"name": name, "group": group}
    emit_json(_client(console, key).json("POST", "/api/v1/devices", body))


@device_app.command("list")
def device_list(console: str | None = ConsoleOpt, key: str | None = KeyOpt) -> None:
    """Devices with state, model sha256, fps and last-seen time."""
    devices = _client(console, key).json("GET", "/api/v1/devices")
    emit_json(
        [{k: d[k] for k in ("name", "state", "model_sha256", "fps", "last_seen")} for d in devices]
    )


@device_app.command("rollback")
def device_rollback(
    name: str = typer.Argument(...), console: str | None = ConsoleOpt, key: str | None = KeyOpt
) -> None:
    """Deploy again the project version the device ran before."""
    emit_json(_client(console, key).json("POST", f"/api/v1/devices/{name}/rollback"))


def deploy(
    project: str = typer.Argument(..., help="Project name or id."),
    device: str | None = typer.Option(None, "--device", help="Device name."),
    group: str | None = typer.Option(None, "--group", help="Every device of this group."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for the device to run it."),
    console: str | None = ConsoleOpt,
    key: str | None = KeyOpt,
) -> None:
    """Deploy a project's newest version to a device (or a group); prints the status."""
    if (device is None) == (group is None):
        raise LensboxError("pass exactly one of --device NAME or --group GROUP")
    client = _client(console, key)
    if device is not None:
        created = [
            client.json("POST", "/api/v1/deployments", {"project": project, "device": device})
        ]
    else:
        created = client.json("POST", f"/api/v1/groups/{group}/deployments", {"project": project})
    deadline = time.monotonic() + wait
    while wait > 0 and any(d["status"] not in ("running", "failed") for d in created):
        if time.monotonic() > deadline:
            emit_json(created[0] if device else created)
            pending = [d["device"] for d in created if d["status"] not in ("running", "failed")]
            raise LensboxError(f"still not running after {wait:g} s on: {', '.join(pending)}")
        time.sleep(0.25)
        created = [client.json("GET", f"/api/v1/deployments/{d['id']}") for d in created]
    emit_json(created[0] if device else created)
    if any(d["status"] == "failed" for d in created):
        raise typer.Exit(1)


@device_app.command("run")
def device_run(
    console: str = typer.Option(..., "--console", envvar="LENSBOX_CONSOLE"),
    token: str = typer.Option(..., "--token", envvar="LENSBOX_DEVICE_TOKEN"),
    source: str = typer.Option("test", "--source"),
    port: int = typer.Option(8080, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    work: Path | None = typer.Option(None, "--work", help="Where packages are kept."),
    poll: float = typer.Option(10.0, "--poll", help="Long-poll seconds."),
    mqtt: str | None = typer.Option(
        None, "--mqtt", help="mqtt://HOST:PORT: publish results to lensbox/<device>/results."
    ),
) -> None:
    """Run the device agent: follow the console's deployments, hot-swapping models."""
    from lensbox.cli.run import setup_logging
    from lensbox.console.agent import Agent, AgentOptions
    from lensbox.settings import Settings

    setup_logging()
    folder = work or Settings.from_env().home / "agent"
    agent = Agent.connect(
        AgentOptions(
            console=console,
            token=token,
            source=source,
            work=folder,
            port=port or None,
            host=host,
            poll_seconds=poll,
            mqtt=mqtt,
        )
    )
    stopped = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stopped.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    threading.Thread(target=agent.run, name="lensbox-agent", daemon=True).start()
    say(f"device agent following {console}")
    stopped.wait()
    agent.stop()  # the polling thread is a daemon: a pending long-poll does not hold the exit
