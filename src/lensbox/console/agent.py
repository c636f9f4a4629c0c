"""The device agent: ``lensbox device run --console URL --token T --source SRC``.

It heartbeats, long-polls the console for its deployment, downloads the package, verifies its
sha256, and hot-swaps the model and function in the running pipeline (no restart, no gap in
the streams). A broken package is reported as failed and the last good one keeps running; so
does everything when the console is unreachable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbox.console.client import ConsoleClient, ConsoleError
from lensbox.errors import LensboxError
from lensbox.runtime.device import Device, DeviceOptions
from lensbox.runtime.engine import Engine
from lensbox.runtime.functions import InferenceFunction
from lensbox.runtime.sinks.base import Message

log = logging.getLogger("lensbox.agent")


@dataclass
class AgentOptions:
    console: str
    token: str
    source: str
    work: Path
    port: int | None = 8080
    host: str = "127.0.0.1"
    poll_seconds: float = 10.0
    heartbeat_seconds: float = 2.0
    mqtt: str | None = None  # mqtt://HOST:PORT: results go to lensbox/<device>/results


class ResultUploader:
    """A sink that batches results and posts them to the console once a second (bounded)."""

    name = "console"

    def __init__(self, limit: int = 200) -> None:
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.limit = limit

    def __call__(self, message: Message) -> None:
        with self._lock:
            self._items.append(message.document)
            del self._items[: -self.limit]

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            items, self._items = self._items, []
            return items

    def close(self) -> None:
        pass


class Agent:
    def __init__(self, options: AgentOptions, client: ConsoleClient, device_id: int) -> None:
        self.options = options
        self.client = client
        self.device_id = device_id
        self.device: Device | None = None
        self.deployment_id: int | None = None
        self.status: str | None = None
        self.message: str | None = None
        self.etag: str | None = None
        self.uploader = ResultUploader()
        self._stop = threading.Event()
        self._waiting_server: Any = None

    @classmethod
    def connect(cls, options: AgentOptions) -> Agent:
        """The token names the device: the console says which id it has on first contact."""
        device_id = int(options.token.split(".", 1)[0]) if "." in options.token else 0
        return cls(options, ConsoleClient(options.console, options.token), device_id)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        self._serve_waiting()
        threading.Thread(target=self._heartbeats, name="lensbox-heartbeat", daemon=True).start()
        while not self._stop.is_set():
            try:
                self._poll_once()
            except ConsoleError as exc:
                log.warning("%s; keeping the current deployment, retrying", exc)
                self._stop.wait(min(5.0, self.options.poll_seconds))

    def stop(self) -> None:
        self._stop.set()
        if self.device is not None:
            self.device.close()
        if self._waiting_server is not None:
            self._waiting_server.stop()

    def _serve_waiting(self) -> None:
        """Until the first deployment runs, /health answers on the device port (state waiting)."""
        if self.options.port is None:
            return
        from fastapi import FastAPI

        from lensbox.runtime.server import ServerThread

        app = FastAPI(title="lensbox device (waiting for a deployment)")

        @app.get("/health")
        def health() -> dict[str, Any]:
            return {
                "state": "waiting",
                "frames": 0,
                "fps": 0.0,
                "dropped": 0,
                "sha256": None,
                "model": None,
                "source": self.options.source,
                "deployment": {"id": self.deployment_id, "status": self.status},
            }

        self._waiting_server = ServerThread(app, self.options.host, self.options.port).start()

    def _path(self, tail: str) -> str:
        return f"/api/v1/agent/{self.device_id}{tail}"

    def _poll_once(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        status, response_headers, body = self.client.request(
            "GET",
            self._path(f"/deployment?wait={self.options.poll_seconds}"),
            headers=headers,
            timeout=self.options.poll_seconds + 30,
        )
        self.etag = response_headers.get("ETag") or response_headers.get("etag")
        if status in (204, 304) or not body:
            return
        assignment = json.loads(body)
        if assignment["deployment_id"] == self.deployment_id:
            return
        self.apply(assignment)

    def apply(self, assignment: dict[str, Any]) -> None:
        """Download, verify and hot-swap; on any failure keep the old model and say why."""
        deployment_id = int(assignment["deployment_id"])
        self._report(deployment_id, "downloading", None)
        try:
            package_dir = self._fetch(assignment)
            engine = Engine.open(package_dir)
            if engine.sha256 != assignment["model_sha256"]:
                raise LensboxError("model.onnx sha256 differs from the deployment's")
            function_path = self._write_function(deployment_id, assignment)
            if self.device is None:
                self._start(engine, function_path, str(assignment["device"]))
            else:
                function = None
                if function_path is not None:
                    function = InferenceFunction.load(
                        function_path,
                        engine.manifest.labels,
                        engine.name,
                        task=engine.manifest.task,
                    )
                self.device.pipeline.swap_engine(engine)
                self.device.pipeline.swap_function(function)
        except (LensboxError, OSError, zipfile.BadZipFile) as exc:
            log.error("deployment %d failed: %s; keeping the current model", deployment_id, exc)
            self._report(deployment_id, "failed", str(exc))
            return
        log.info("deployment %d running model %s", deployment_id, assignment["model_sha256"][:12])
        self._report(deployment_id, "running", None)

    def _fetch(self, assignment: dict[str, Any]) -> Path:
        sha = assignment["package_sha256"]
        target = self.options.work / "packages" / sha
        if (target / "manifest.json").is_file():
            return target
        download = self.options.work / "downloads" / f"{sha}.zip"
        download.parent.mkdir(parents=True, exist_ok=True)
        self.client.download(assignment["package_url"], download)
        digest = hashlib.sha256(download.read_bytes()).hexdigest()
        if digest != sha:
            download.unlink(missing_ok=True)
            raise LensboxError(f"downloaded package sha256 {digest[:12]}… is not {sha[:12]}…")
        staging = target.with_name(f".{sha}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        from lensbox.manifest import load_package

        loaded = load_package(download)
        for name in loaded.manifest.file_names():
            shutil.copyfile(loaded.root / name, staging / name)
        shutil.rmtree(loaded.root, ignore_errors=True)
        staging.replace(target)
        download.unlink(missing_ok=True)
        return target

    def _write_function(self, deployment_id: int, assignment: dict[str, Any]) -> Path | None:
        if not assignment.get("function"):
            return None
        folder = self.options.work / "projects" / str(deployment_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "function.py").write_text(assignment["function"], encoding="utf-8")
        project = {
            "name": assignment["project"],
            "function": "function.py",
            "config": assignment.get("config", {}),
        }
        (folder / "project.json").write_text(json.dumps(project, indent=2), encoding="utf-8")
        return folder / "function.py"

    def _start(self, engine: Engine, function_path: Path | None, device_name: str) -> None:
        from lensbox.console.fleet import device_topic
        from lensbox.runtime.sources import open_source

        source = open_source(self.options.source)
        mqtt = None
        if self.options.mqtt:
            mqtt = f"{self.options.mqtt.rstrip('/')}/{device_topic(device_name)}"
        options = DeviceOptions(
            model=engine.package.root,
            source=self.options.source,
            function=function_path,
            host=self.options.host,
            port=self.options.port,
            realtime=True,
            loop=not source.live,
            mqtt=mqtt,
            extra_sinks=[] if mqtt else [self.uploader],  # MQTT carries results when given
        )
        device = Device(options, engine, source)
        if self._waiting_server is not None:
            self._waiting_server.stop()  # hand the port to the real device server
            self._waiting_server = None
        self.device = device.start()

    # -- reporting -----------------------------------------------------------------------------
    def _report(self, deployment_id: int, status: str, message: str | None) -> None:
        self.deployment_id, self.status, self.message = deployment_id, status, message
        self._send_heartbeat()

    def _heartbeats(self) -> None:
        while not self._stop.wait(self.options.heartbeat_seconds):
            self._send_heartbeat()
            results = self.uploader.take()
            if results:
                try:
                    self.client.request("POST", self._path("/results"), results)
                except ConsoleError as exc:
                    log.warning("cannot post results: %s", exc)

    def _send_heartbeat(self) -> None:
        health = self.device.health() if self.device is not None else {"state": "waiting"}
        if self.device is not None:
            state = str(health.get("state", "running"))
        else:
            state = "failed" if self.status == "failed" else "waiting"
        body = {
            "state": state,
            "fps": health.get("fps"),
            "model_sha256": health.get("sha256"),
            "deployment_id": self.deployment_id,
            "deployment_status": self.status,
            "message": self.message,
            "health": {
                **{k: v for k, v in health.items() if k != "model"},
                "url": self.device.server.url if self.device and self.device.server else None,
            },
        }
        try:
            self.client.request("POST", self._path("/heartbeat"), body)
        except ConsoleError as exc:
            log.warning("heartbeat failed: %s", exc)
