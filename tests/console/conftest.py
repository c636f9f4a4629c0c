"""Fixtures for console tests: a real console process on a free loopback port, or the app
in process with its admin key (``client``)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lensbox.console.app import create_app
from lensbox.console.settings import ConsoleSettings
from tests.helpers import free_port, wait_url


@contextmanager
def running_console(data: Path, max_upload_mb: int) -> Iterator[tuple[str, str, Path]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "lensbox", "console", "--data", str(data), "--port", str(port),
            "--max-upload-mb", str(max_upload_mb),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_url(url + "/health")
        key_file = data / "admin.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        yield url, key_file.read_text().strip(), data
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A console with a 5 MB upload limit (the limit's own tests need a small one)."""
    with running_console(tmp_path / "console-data", 5) as running:
        yield running


@pytest.fixture
def roomy_console(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A console whose upload limit takes a trained MobileNetV2 package (about 9 MB)."""
    with running_console(tmp_path / "console-data", 100) as running:
        yield running


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(ConsoleSettings(data=tmp_path / "console"))
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {app.state.new_admin_key}"
    return test_client
