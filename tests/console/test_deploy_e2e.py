"""End to end on loopback: console, client CLI, and a device agent that hot-swaps models."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tests.helpers import free_port, health, lensbox, start_agent, wait_sha, wait_url
from tests.helpers.browser import ARTIFACTS, CHROMIUM, chromium_page
from tests.helpers.onnx_models import colour_package, write_video

BGR_GREEN = (0, 220, 0)


class StreamWatcher:
    """Reads the project MJPEG stream and records when each frame arrived."""

    def __init__(self, url: str) -> None:
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        with urllib.request.urlopen(url, timeout=5) as response:
            buffer = b""
            while not self._stop.is_set():
                buffer += response.read1(65536)
                while b"\xff\xd9" in buffer:
                    buffer = buffer[buffer.index(b"\xff\xd9") + 2 :]
                    self.times.append(time.monotonic())

    def max_gap(self, since: float) -> float:
        times = [t for t in self.times if t >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=99.0)

    def stop(self) -> None:
        self._stop.set()


def test_deploy_hot_swap_and_roll_back(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, key, _ = console
    env = {"LENSBOX_CONSOLE": url, "LENSBOX_KEY": key}
    v1 = colour_package(tmp_path / "v1", name="sorter-model").root
    v2 = colour_package(tmp_path / "v2", name="sorter-model", scale=20.0).root

    pushed = json.loads(lensbox("model", "push", str(v1), env=env).stdout)
    assert pushed["version"] == 1 and set(pushed) >= {"id", "version", "sha256"}
    created = lensbox(
        "project",
        "create",
        "sorter",
        "--model",
        str(pushed["id"]),
        "--template",
        "trash-sorter",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    added = json.loads(lensbox("device", "add", "cam1", env=env).stdout)
    assert set(added) >= {"id", "token"}

    video = write_video(tmp_path / "clip.mp4", [BGR_GREEN] * 40, fps=20)
    device_port = free_port()
    agent = start_agent(url, added["token"], str(video), device_port, str(tmp_path / "agent"))
    watcher = None
    try:
        started = time.monotonic()
        deployed = lensbox("deploy", "sorter", "--device", "cam1", "--wait", "15", env=env)
        assert deployed.returncode == 0, deployed.stderr
        assert json.loads(deployed.stdout)["status"] == "running"
        wait_sha(device_port, pushed["sha256"], 15 - (time.monotonic() - started))
        watcher = StreamWatcher(f"http://127.0.0.1:{device_port}/stream/project.mjpg")
        time.sleep(1.0)

        second = json.loads(lensbox("model", "push", str(v2), env=env).stdout)
        assert second["version"] == 2 and second["sha256"] != pushed["sha256"]
        assert (
            lensbox("project", "update", "sorter", "--model", str(second["id"]), env=env).returncode
            == 0
        )
        swap_started = time.monotonic()
        assert (
            lensbox("deploy", "sorter", "--device", "cam1", "--wait", "10", env=env).returncode == 0
        )
        wait_sha(device_port, second["sha256"], 10)
        time.sleep(1.0)
        assert watcher.max_gap(swap_started) < 1.0

        rolled = lensbox("device", "rollback", "cam1", env=env)
        assert rolled.returncode == 0, rolled.stderr
        wait_sha(device_port, pushed["sha256"], 10)

        listed = json.loads(lensbox("device", "list", env=env).stdout)
        assert listed[0]["name"] == "cam1" and listed[0]["state"] == "running"
        assert listed[0]["model_sha256"] == pushed["sha256"]
        if CHROMIUM is not None:
            _browser_sees_live_stream(url, key, "cam1")
    finally:
        if watcher is not None:
            watcher.stop()
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
    assert "Traceback" not in (agent.stderr.read() if agent.stderr else "")


def _browser_sees_live_stream(url: str, key: str, device: str) -> None:
    """Log in with the admin key, open the device page, see the project stream move."""
    with chromium_page() as page:
        page.goto(url + f"/devices/{device}")
        assert page.url.endswith("/login")
        page.fill("#key", key)
        page.click("#login")
        page.goto(url + f"/devices/{device}")
        page.wait_for_function(
            "document.getElementById('project-stream').naturalWidth > 0", timeout=15000
        )
        first = page.locator("#project-stream").screenshot()
        time.sleep(1.0)
        second = page.locator("#project-stream").screenshot()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-device-page.png"), full_page=True)
        assert first != second, "the proxied project stream is not live"
        assert page.locator("#state").text_content() == "running"


def _call(
    url: str,
    path: str,
    token: str | None,
    method: str = "GET",
    data: bytes | None = None,
    content_type: str | None = None,
) -> int:
    request = urllib.request.Request(url + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _multipart(name: str, payload: bytes) -> tuple[bytes, str]:
    boundary = "lensboxtest"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
            f"\r\nContent-Type: application/zip\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_keys_tokens_and_uploads_are_checked(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, key, data = console
    env = {"LENSBOX_CONSOLE": url, "LENSBOX_KEY": key}
    assert _call(url, "/api/v1/models", None) == 401
    assert _call(url, "/api/v1/models", "wrong") == 401
    assert _call(url, "/api/v1/models", key) == 200
    one = json.loads(lensbox("device", "add", "one", env=env).stdout)
    two = json.loads(lensbox("device", "add", "two", env=env).stdout)
    assert _call(url, f"/api/v1/agent/{one['id']}/deployment", one["token"]) == 204
    assert _call(url, f"/api/v1/agent/{two['id']}/deployment", one["token"]) == 403
    assert _call(url, "/api/v1/devices", one["token"]) == 401  # device tokens are not admin keys

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../model.onnx", b"x")
        zf.writestr("manifest.json", b"{}")
    body, kind = _multipart("evil.zip", evil.getvalue())
    assert _call(url, "/api/v1/models", key, "POST", body, kind) == 400
    body, kind = _multipart("big.zip", os.urandom(6 << 20))
    assert _call(url, "/api/v1/models", key, "POST", body, kind) == 413
    assert not list((data / "blobs" / "tmp").iterdir())  # nothing half-written is left
    assert (
        _call(
            url,
            "/api/v1/projects",
            key,
            "POST",
            b'{"name": "../x", "model_id": 1}',
            "application/json",
        )
        == 422
    )


def _start_console(data: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lensbox", "console", "--data", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_url(f"http://127.0.0.1:{port}/health")
    return proc


def test_console_loss_broken_packages_and_crash_mid_upload(tmp_path: Path) -> None:
    """The device keeps its last good model when the console dies or sends a broken package;
    a console killed mid-upload loses nothing it acknowledged and leaves no partial file."""
    import socket

    data, port = tmp_path / "console", free_port()
    url = f"http://127.0.0.1:{port}"
    console_proc = _start_console(data, port)
    key = (data / "admin.key").read_text().strip()
    env = {"LENSBOX_CONSOLE": url, "LENSBOX_KEY": key}
    good = json.loads(
        lensbox("model", "push", str(colour_package(tmp_path / "good").root), env=env).stdout
    )
    assert lensbox("project", "create", "p", "--model", str(good["id"]), env=env).returncode == 0
    token = json.loads(lensbox("device", "add", "cam", env=env).stdout)["token"]
    video = write_video(tmp_path / "clip.mp4", [BGR_GREEN] * 30, fps=20)
    device_port = free_port()
    agent = start_agent(url, token, str(video), device_port, str(tmp_path / "agent"))
    try:
        assert lensbox("deploy", "p", "--device", "cam", "--wait", "15", env=env).returncode == 0
        wait_sha(device_port, good["sha256"], 10)

        # A slow upload, cut by SIGKILL: nothing half-written may survive.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                b"POST /api/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + key.encode()
                + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 9000000"
                b'\r\n\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.zip"'
                b"\r\n\r\n" + os.urandom(3_000_000)
            )
            time.sleep(1.0)
            console_proc.kill()
            console_proc.wait(10)

        frames = health(device_port)["frames"]
        time.sleep(2.0)  # the console is gone: the device goes on with its model
        after = health(device_port)
        assert after["sha256"] == good["sha256"] and after["frames"] > frames

        console_proc = _start_console(data, port)
        assert not list((data / "blobs" / "tmp").iterdir())
        models = json.loads(lensbox("model", "list", env=env).stdout)
        assert [m["sha256"] for m in models] == [good["sha256"]]

        broken_dir = colour_package(tmp_path / "broken", name="broken", scale=3.0).root
        manifest = json.loads((broken_dir / "manifest.json").read_text())
        manifest["input"]["height"] = manifest["input"]["width"] = 64  # the ONNX takes 32
        (broken_dir / "manifest.json").write_text(json.dumps(manifest))
        broken = json.loads(lensbox("model", "push", str(broken_dir), env=env).stdout)
        assert (
            lensbox("project", "update", "p", "--model", str(broken["id"]), env=env).returncode == 0
        )
        failed = lensbox("deploy", "p", "--device", "cam", "--wait", "15", env=env)
        assert failed.returncode == 1
        assert json.loads(failed.stdout)["status"] == "failed"
        assert "does not match the manifest" in (json.loads(failed.stdout)["message"] or "")
        time.sleep(1.0)
        assert health(device_port)["sha256"] == good["sha256"]
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
        console_proc.send_signal(signal.SIGTERM)
        console_proc.wait(10)
