"""Fixtures for console tests: a real console process on a free loopback port, or the app
in process with its admin key (``client``)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lensbox.console.app import create_app
from lensbox.console.settings import ConsoleSettings
from tests.helpers import free_port, wait_url


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    port = free_port()
    data = tmp_path / "console-data"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lensbox",
            "console",
            "--data",
            str(data),
            "--port",
            str(port),
            "--max-upload-mb",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
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
def client(tmp_path: Path) -> TestClient:
    app = create_app(ConsoleSettings(data=tmp_path / "console"))
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {app.state.new_admin_key}"
    return test_client
