"""The engine on onnxruntime or OpenVINO: the same answers, a missing extra named in one line,
and a manifest's preferred backend followed where it is installed, else a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import lensbox._onnx as backends
from lensbox.errors import LensboxError, MissingExtraError
from lensbox.manifest import load_package, write_package
from lensbox.runtime.engine import Engine
from tests.helpers import lensbox
from tests.helpers.onnx_models import conv_colour_package


def _without_openvino(monkeypatch: pytest.MonkeyPatch) -> None:
    real = backends.require

    def require(module: str, extra: str):  # type: ignore[no-untyped-def]
        if module == "openvino":
            raise MissingExtraError(
                "openvino is not installed; install it with: pip install 'lensbox[openvino]'"
            )
        return real(module, extra)

    monkeypatch.setattr(backends, "require", require)


def test_openvino_gives_onnxruntime_s_answers(tmp_path: Path) -> None:
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    package = conv_colour_package(tmp_path / "m").root
    ort, ov = Engine.open(package, backend="onnxruntime"), Engine.open(package, backend="openvino")
    assert (ort.backend, ov.backend) == ("onnxruntime", "openvino")
    batch = np.random.default_rng(0).normal(size=(4, 3, 32, 32)).astype(np.float32)
    assert np.abs(ort.run(batch)[0] - ov.run(batch)[0]).max() < 1e-3
    image = np.zeros((40, 40, 3), np.uint8)
    image[..., 2] = 230  # blue in RGB
    assert ov.predict([image])[0]["label"] == ort.predict([image])[0]["label"] == "blue"


def test_a_missing_openvino_is_one_line_or_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    package = conv_colour_package(tmp_path / "m")
    _without_openvino(monkeypatch)
    with pytest.raises(MissingExtraError, match=r"lensbox\[openvino\]"):
        Engine.open(package.root, backend="openvino")
    with pytest.raises(LensboxError, match="unknown backend 'tensorrt'"):
        Engine.open(package.root, backend="tensorrt")
    preferring = write_package(
        tmp_path / "prefers-ov",
        package.model_path.read_bytes(),
        package.manifest.model_copy(update={"preferred_backend": "openvino"}),
    )
    with caplog.at_level(logging.WARNING, logger="lensbox.backend"):
        engine = Engine.open(preferring.root)
    assert engine.backend == "onnxruntime"
    assert "prefers openvino" in caplog.text and "lensbox[openvino]" in caplog.text
    assert load_package(preferring.root).manifest.preferred_backend == "openvino"


def test_cli_backend_flag(tmp_path: Path) -> None:
    package = conv_colour_package(tmp_path / "m").root
    wrong = lensbox("bench", str(package), "--backend", "tensorrt", "--seconds", "0.2")
    assert wrong.returncode != 0 and "unknown backend 'tensorrt'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
