"""Helpers for console tests: the CLI as a subprocess, waiting on URLs and device health."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request


def lensbox(*args: str, env: dict[str, str] | None = None, timeout: int = 60):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "lensbox", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def wait_url(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        return json.loads(response.read())


def wait_sha(port: int, sha: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if health(port).get("sha256") == sha:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"device never ran {sha[:12]} within {timeout} s")


def start_agent(
    url: str, token: str, source: str, port: int, work: object, *extra: str
) -> subprocess.Popen[str]:
    """``lensbox device run`` as a subprocess (stderr kept for the no-traceback checks)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lensbox",
            "device",
            "run",
            "--console",
            url,
            "--token",
            token,
            "--source",
            source,
            "--port",
            str(port),
            "--poll",
            "2",
            "--work",
            str(work),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
