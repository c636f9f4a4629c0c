"""Tiny data in the real on-disk formats, built fresh by each test session.

Images are small (64-96 px) but real files: JPEG/PNG written by Pillow, in an ImageFolder tree.
Classes differ by colour and shape, so a pretrained backbone separates them in a few epochs.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture
def imagefolder(tmp_path: Path) -> Path:
    return make_imagefolder(tmp_path / "data")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def trained_package(session_dir: Path) -> Path:
    """One small classifier trained through the real CLI, shared by the tests that need a model."""
    import subprocess

    data = make_imagefolder(session_dir / "train-data", per_class=14)
    add_bad_files(data)
    out = session_dir / "model"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lensbox",
            "train",
            str(data),
            "--task",
            "classify",
            "--out",
            str(out),
            "--epochs",
            "3",
            "--image-size",
            "64",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (session_dir / "train-stdout.json").write_text(result.stdout)
    (session_dir / "train-stderr.txt").write_text(result.stderr)
    return out


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (it ships beside the repo as ../shared)"
        )
    return SHARED_DATA


@pytest.fixture
def colour_model(tmp_path: Path) -> Path:
    from tests.onnx_models import colour_package

    return colour_package(tmp_path / "colour").root


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A running mosquitto on a free loopback port (tests using it skip without mosquitto)."""
    from tests.mqtt_broker import Broker

    running = Broker(tmp_path, free_port())
    running.start()
    yield running
    running.stop()
