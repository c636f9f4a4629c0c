"""The device's HTTP server: both live streams, results as Server-Sent Events, health, metrics.

Runs uvicorn on a background thread so the pipeline owns the main thread's signals.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

from lensbox._optional import require
from lensbox.errors import LensboxError
from lensbox.runtime.streams import BOUNDARY, STREAMS, ResultFeed, StreamHub, multipart_chunk

HealthProvider = Callable[[], dict[str, Any]]


def create_device_app(hub: StreamHub, feed: ResultFeed, health: HealthProvider) -> Any:
    fastapi = require("fastapi", extra="runtime")
    responses = require("fastapi.responses", extra="runtime")
    app = fastapi.FastAPI(title="lensbox device", version="1")
    page = resources.files("lensbox.runtime.web").joinpath("index.html").read_text("utf-8")

    @app.get("/", response_class=responses.HTMLResponse)
    def index() -> str:
        return str(page)

    @app.get("/health")
    def get_health() -> dict[str, Any]:
        return health()

    @app.get("/metrics", response_class=responses.PlainTextResponse)
    def metrics() -> str:
        return prometheus_text(health(), hub)

    @app.get("/stream/{name}.mjpg")
    def stream(name: str) -> Any:
        if name not in STREAMS:
            raise fastapi.HTTPException(404, f"no stream {name!r}; use device or project")

        def body() -> Iterator[bytes]:
            for jpeg in hub.frames(name):
                if jpeg is not None:
                    yield multipart_chunk(jpeg)

        return responses.StreamingResponse(
            body(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/stream/{name}.jpg")
    def snapshot(name: str) -> Any:
        if name not in STREAMS:
            raise fastapi.HTTPException(404, f"no stream {name!r}; use device or project")
        _, jpeg = hub.latest_jpeg(name)
        if jpeg is None:
            raise fastapi.HTTPException(503, "no frame yet")
        return responses.Response(jpeg, media_type="image/jpeg")

    @app.get("/results")
    def results() -> Any:
        def events() -> Iterator[str]:
            yield "retry: 1000\n\n"
            for message in feed.follow():
                yield ": keep-alive\n\n" if message is None else f"data: {message}\n\n"

        return responses.StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.get("/results/latest")
    def latest(n: int = 20) -> list[Any]:
        return [json.loads(m) for m in feed.latest(max(1, min(n, 256)))]

    return app


def prometheus_text(health: dict[str, Any], hub: StreamHub) -> str:
    lines = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP lensbox_{name} {help_text}")
        lines.append(f"# TYPE lensbox_{name} {kind}")
        for labels, value in samples:
            lines.append(f"lensbox_{name}{labels} {value}")

    state = health.get("state", "unknown")
    metric("frames_total", "counter", "Frames processed.", [("", health.get("frames", 0))])
    metric("dropped_frames_total", "counter", "Frames dropped.", [("", health.get("dropped", 0))])
    metric("fps", "gauge", "Frames per second (sliding window).", [("", health.get("fps", 0.0))])
    latency = health.get("latency_ms", {})
    metric(
        "latency_ms",
        "gauge",
        "Capture-to-result latency.",
        [
            ('{quantile="0.5"}', latency.get("p50", 0.0)),
            ('{quantile="0.95"}', latency.get("p95", 0.0)),
        ],
    )
    metric(
        "function_errors_total",
        "counter",
        "Inference function exceptions.",
        [("", health.get("function_errors", 0))],
    )
    metric(
        "sink_errors_total",
        "counter",
        "Sink failures.",
        [(f'{{sink="{k}"}}', v) for k, v in health.get("sink_errors", {}).items()] or [("", 0)],
    )
    metric(
        "reconnects_total", "counter", "Source reconnections.", [("", health.get("reconnects", 0))]
    )
    metric(
        "stream_encodes_total",
        "counter",
        "JPEG encodes per stream.",
        [(f'{{stream="{s}"}}', hub.encodes(s)) for s in STREAMS],
    )
    metric(
        "stream_viewers",
        "gauge",
        "Viewers per stream.",
        [(f'{{stream="{s}"}}', int(hub.watching(s))) for s in STREAMS],
    )
    metric(
        "state", "gauge", "Pipeline state (1 for the current one).", [(f'{{state="{state}"}}', 1)]
    )
    return "\n".join(lines) + "\n"


class ServerThread:
    """uvicorn on a daemon thread, with a clean ``stop()``.

    The listening socket is bound here, before the thread starts, so a busy port is a clear
    error in the caller instead of an exit inside uvicorn's thread; port 0 picks a free one.
    """

    def __init__(self, app: Any, host: str, port: int) -> None:
        uvicorn = require("uvicorn", extra="runtime")
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> ServerThread:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise LensboxError(
                f"cannot serve on http://{self.host}:{self.port} ({exc.strerror}); "
                "pick another with --port"
            ) from None
        sock.listen(128)
        self.port = int(sock.getsockname()[1])
        self._socket = sock
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="lensbox-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise LensboxError(f"HTTP server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=1.5)
        if self._socket is not None:
            self._socket.close()
