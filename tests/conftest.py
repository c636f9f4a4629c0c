"""Tiny data in the real on-disk formats, built fresh by each test session.

Images are small (64-96 px) but real files: JPEG/PNG written by Pillow, in an ImageFolder tree.
Classes differ by colour and shape, so a pretrained backbone separates them in a few epochs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA, add_bad_files, free_port, make_imagefolder

# Fixtures that train a real backbone: a test that uses one is slow, whatever it asserts.
SLOW_FIXTURES = {"trained_package"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
    from tests.helpers.onnx_models import colour_package

    return colour_package(tmp_path / "colour").root


@pytest.fixture
def broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A running mosquitto on a free loopback port (tests using it skip without mosquitto)."""
    from tests.helpers.mqtt_broker import Broker

    running = Broker(tmp_path, free_port())
    running.start()
    yield running
    running.stop()
