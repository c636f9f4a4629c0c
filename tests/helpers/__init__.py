"""What many test modules share: tiny data in real formats, the CLI as a subprocess, free
ports and waiting on servers. Test modules import from here, never from each other."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"

CLASS_COLOURS = {"compost": (60, 140, 40), "landfill": (90, 90, 90), "recycling": (30, 80, 200)}


def synthetic_image(colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (88, 72)):
    """A noisy background of one hue with a lighter ellipse: learnable, not trivially constant."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = np.array(colour, dtype=np.float32)
    pixels = base + rng.normal(0, 18, size=(height, width, 3))
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    ry, rx = rng.uniform(0.15, 0.3) * height, rng.uniform(0.15, 0.3) * width
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    pixels[inside] = np.clip(base * 1.6 + 40, 0, 255)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def make_imagefolder(root: Path, per_class: int = 12, classes=CLASS_COLOURS, seed: int = 0) -> Path:
    for c, (name, colour) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            synthetic_image(colour, seed * 10_000 + c * 1000 + i).save(
                folder / f"{name}{i}.jpg", quality=90
            )
    return root


def add_bad_files(root: Path) -> dict[str, Path]:
    """The four problems the foundation issue names, one of each."""
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    first, second = root / names[0], root / names[1]
    good = sorted(first.glob("*.jpg"))[0].read_bytes()
    corrupt = first / "corrupt.jpg"
    corrupt.write_bytes(good[: len(good) // 2])
    text = first / "notes.jpg"
    text.write_text("this is not an image\n")
    tiny = second / "tiny.png"
    Image.new("RGB", (10, 10), (1, 2, 3)).save(tiny)
    dup_a, dup_b = first / "shared_photo.jpg", second / "shared_photo_copy.jpg"
    buffer = io.BytesIO()
    synthetic_image((200, 200, 0), 999).save(buffer, format="JPEG")
    dup_a.write_bytes(buffer.getvalue())
    dup_b.write_bytes(buffer.getvalue())
    return {"corrupt": corrupt, "text": text, "tiny": tiny, "dup_a": dup_a, "dup_b": dup_b}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lensbox(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lensbox", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def cli_in_process(capsys: Any, *args: str) -> tuple[int, str, str]:
    """The real ``lensbox`` command run in this process (where a test's plug-ins are
    registered, and without a new interpreter's start-up): (exit code, stdout, stderr)."""
    from lensbox.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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


def zip_folder(folder: Path, top: str = "") -> bytes:
    """The folder's files as zip bytes, under ``top`` (e.g. ``"bins/"``) inside the archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}{path.relative_to(folder)}")
    return buffer.getvalue()
