"""``lensbox optimize --int8`` on a small convolutional model whose answers are known: the
guard keeps a sound INT8 package and refuses one calibrated on black images, in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensbox.manifest import load_package
from lensbox.runtime.engine import Engine
from tests.helpers import lensbox, make_imagefolder
from tests.helpers.onnx_models import conv_colour_package

COLOURS = {"red": (210, 40, 40), "green": (40, 190, 40), "blue": (40, 40, 210)}


@pytest.fixture
def model_and_data(tmp_path: Path) -> tuple[Path, Path, Path]:
    model = conv_colour_package(tmp_path / "colours").root
    calibration = make_imagefolder(tmp_path / "calibration", per_class=10, classes=COLOURS)
    held_out = make_imagefolder(tmp_path / "held-out", per_class=8, classes=COLOURS, seed=1)
    return model, calibration, held_out


def test_int8_package_is_written_within_the_allowance_and_runs(
    model_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, calibration, held_out = model_and_data
    out = tmp_path / "colours-int8"
    done = lensbox(
        "optimize", str(model), "--int8", "--calibration", str(calibration),
        "--eval", str(held_out), "--out", str(out), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["metric"] == "accuracy" and result["fp32"] == 1.0
    assert result["drop"] <= 0.01 and result["calibration_images"] == 30
    manifest = load_package(out).manifest
    assert manifest.precision == "int8" and manifest.sha256 != load_package(model).manifest.sha256
    record = manifest.optimization
    assert record["fp32"] == 1.0 and record["int8"] == result["int8"]
    assert len(record["calibration_sha256"]) == 64 and record["layers"] == 2
    import onnx

    ops = {node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # really quantized
    engine = Engine.open(out)
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    assert engine.predict([red])[0]["label"] == "red"

    bench = lensbox("bench", str(out), "--seconds", "0.3", "--json")
    assert bench.returncode == 0, bench.stderr
    figures = json.loads(bench.stdout)
    assert figures["precision"] == "int8" and figures["images_per_second"] > 0
    assert figures["latency_ms"]["p50"] <= figures["latency_ms"]["p95"]
    assert figures["peak_rss_mb"] > 10


def test_black_calibration_images_are_refused_with_both_figures(
    model_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    model, _, held_out = model_and_data
    black = tmp_path / "black"
    black.mkdir()
    for i in range(10):
        Image.new("RGB", (48, 48)).save(black / f"black{i}.png")
    out = tmp_path / "never"
    done = lensbox(
        "optimize", str(model), "--int8", "--calibration", str(black),
        "--eval", str(held_out), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "INT8 accuracy" in lines[0] and "vs FP32 1.0000" in lines[0] and "--max-drop" in lines[0]
    assert not out.exists()


def test_bad_inputs_get_one_line(model_and_data: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, _, held_out = model_and_data
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    cases = [
        (["--int8", "--calibration", str(empty)], "holds no images"),
        (["--int8"], "needs --calibration"),
        (["--calibration", str(held_out)], "--int8"),
        (["--int8", "--calibration", str(held_out)], "not here; pass --eval"),
    ]
    for flags, expected in cases:
        done = lensbox("optimize", str(model), *flags, "--out", str(tmp_path / "x"))
        assert done.returncode != 0 and expected in done.stderr, (flags, done.stderr)
        assert "Traceback" not in done.stderr
    missing = tmp_path / "no-such-model"
    for command in (
        [
            "optimize",
            str(missing),
            "--int8",
            "--calibration",
            str(held_out),
            "--out",
            str(tmp_path / "y"),
        ],
        ["bench", str(missing), "--seconds", "0.2"],
        ["bench", str(model), "--images", str(empty), "--seconds", "0.2"],
    ):
        done = lensbox(*command)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode != 0 and len(errors) == 1, (command, done.stderr)
        assert "Traceback" not in done.stderr
    assert "no-such-model" in lensbox("bench", str(missing)).stderr


def test_the_console_shows_precision_and_both_figures(
    model_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from lensbox.console.app import create_app
    from lensbox.console.settings import ConsoleSettings
    from lensbox.manifest import zip_package
    from lensbox.optimize.int8 import optimize_int8
    from tests.helpers.web import sign_in

    model, calibration, held_out = model_and_data
    result = optimize_int8(model, calibration, tmp_path / "colours-int8", held_out)
    app = create_app(ConsoleSettings(data=tmp_path / "console"))
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, app.state.new_admin_key)
    archive = zip_package(result.out, tmp_path / "int8.zip").read_bytes()
    uploaded = client.post("/models", data={"csrf": csrf}, files={"file": ("int8.zip", archive)})
    page = client.get(uploaded.headers["location"]).text
    assert 'id="precision">INT8<' in page
    assert f"<th>accuracy FP32</th><td>{result.fp32}</td>" in page
    assert f"<th>accuracy INT8</th><td>{result.int8}</td>" in page


@pytest.mark.slow
def test_train_int8_writes_a_guarded_sibling_scored_on_the_rebuilt_split(tmp_path: Path) -> None:
    data = make_imagefolder(tmp_path / "bins", per_class=10)
    out = tmp_path / "bins-model"
    done = lensbox(
        "train", str(data), "--out", str(out), "--epochs", "1", "--image-size", "64",
        "--int8", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    int8 = json.loads(done.stdout)["int8"]
    assert int8["written"] and int8["out"] == str(tmp_path / "bins-model-int8")
    record = load_package(tmp_path / "bins-model-int8").manifest.optimization
    assert record["evaluated_on"] == "training's held-out split"
    assert record["fp32"] == load_package(out).manifest.metrics["val_accuracy"]
