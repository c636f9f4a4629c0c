"""The device's HTTP endpoints, served for real by uvicorn on loopback."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from lensbox.runtime.device import Device, DeviceOptions
from tests.helpers import free_port


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def _first_jpeg(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        buffer = b""
        while b"\xff\xd9" not in buffer:
            buffer += response.read1(65536)
        start = buffer.index(b"\xff\xd8")
        return buffer[start : buffer.index(b"\xff\xd9", start) + 2]


@pytest.fixture
def device(colour_model: Path):
    port = free_port()
    options = DeviceOptions(model=colour_model, source="test", port=port, realtime=True)
    running = Device.build(options).start()
    deadline = time.monotonic() + 10
    while running.stats.frames < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield running, f"http://127.0.0.1:{port}"
    running.close()


def test_health_and_metrics(device) -> None:
    running, url = device
    health = json.loads(_get(url + "/health"))
    for key in ("state", "model", "sha256", "source", "fps", "latency_ms", "frames", "dropped"):
        assert key in health
    assert health["state"] == "running" and health["source"] == "test"
    assert health["sha256"] == running.pipeline.engine.sha256
    assert set(health["latency_ms"]) >= {"p50", "p95"}
    metrics = _get(url + "/metrics").decode()
    assert "# TYPE lensbox_frames_total counter" in metrics
    assert 'lensbox_state{state="running"} 1' in metrics


def test_both_streams_serve_jpeg_and_index_shows_them(device) -> None:
    _, url = device
    for name in ("device", "project"):
        jpeg = _first_jpeg(f"{url}/stream/{name}.mjpg")
        assert jpeg[:2] == b"\xff\xd8" and len(jpeg) > 500
    page = _get(url + "/").decode()
    assert "/stream/device.mjpg" in page and "/stream/project.mjpg" in page


def test_results_arrive_as_server_sent_events(device) -> None:
    _, url = device
    events: list[dict] = []

    def listen() -> None:
        with urllib.request.urlopen(url + "/results", timeout=5) as response:
            for raw in response:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) >= 3:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    thread.join(10)
    assert len(events) >= 3
    assert events[0]["task"] == "classify" and "label" in events[0]
    assert events[1]["frame_index"] > events[0]["frame_index"]


def test_busy_port_is_a_clear_error(colour_model: Path) -> None:
    import socket

    from lensbox.errors import LensboxError

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        device = Device.build(DeviceOptions(model=colour_model, source="test", port=port))
        with pytest.raises(LensboxError, match="--port"):
            device.start()
        device.close()
