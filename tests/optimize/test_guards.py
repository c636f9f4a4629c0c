"""INT8 for the models scored without labelled images: a drive model is calibrated on the
frames its own policy sees lapping a track and judged by its laps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lensbox.errors import LensboxError
from lensbox.manifest import load_package
from lensbox.optimize.int8 import optimize_int8
from tests.helpers.drive_models import constant_driver
from tests.helpers.tracks import write_track


def test_drive_model_is_calibrated_in_the_simulator_and_judged_by_its_laps(
    tmp_path: Path,
) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)
    model = constant_driver(tmp_path / "straight", preferred=4, track=str(track))
    result = optimize_int8(model, Path(f"sim:{track}"), tmp_path / "straight-int8")
    # Straight ahead leaves the stadium at its first bend: a real part of a lap, not 0 or 100.
    assert result.metric == "lap_progress" and 0.0 < result.fp32 < 1.0
    assert result.int8 == result.fp32 and result.calibration_images > 10
    manifest = load_package(result.out).manifest
    assert manifest.precision == "int8"
    record = manifest.optimization or {}
    assert record["metric"] == "lap_progress" and "stadium" in record["evaluated_on"]


def test_drive_calibration_is_named_or_refused_in_one_line(tmp_path: Path) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)
    model = constant_driver(tmp_path / "straight", preferred=4, track=str(track))
    with pytest.raises(LensboxError, match="no such folder"):
        optimize_int8(model, tmp_path / "missing", tmp_path / "out")
    with pytest.raises(LensboxError, match="sim:TRACK"):
        optimize_int8(model, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_drive_calibration_on_an_unknown_track_is_refused_in_one_line(tmp_path: Path) -> None:
    model = constant_driver(tmp_path / "straight", preferred=4)
    with pytest.raises(LensboxError, match="unknown track 'nowhere'"):
        optimize_int8(model, Path("sim:nowhere"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_model_that_sees_earlier_frames_is_calibrated_on_them_in_order(
    tmp_path: Path,
) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)
    model = constant_driver(tmp_path / "stacked", preferred=4, track=str(track), stack=(0, 8))
    result = optimize_int8(model, Path(f"sim:{track}"), tmp_path / "stacked-int8")
    assert result.int8 == result.fp32 and result.calibration_images > 10
    assert load_package(result.out).manifest.input.stack == (0, 8)


def test_a_folder_of_frames_calibrates_a_stacked_model_in_name_order(tmp_path: Path) -> None:
    import cv2

    from lensbox.manifest import InputSpec
    from lensbox.optimize.calibration import load_calibration

    for name, value in (("frame-1", 10), ("frame-2", 20), ("frame-3", 30)):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((120, 160, 3), value, np.uint8))
    spec = InputSpec(height=120, width=160, color="gray", scale=1.0, stack=(0, 1))
    tensors = load_calibration(tmp_path, spec).tensors
    assert [t.shape for t in tensors] == [(1, 2, 120, 160)] * 3
    assert [tuple(t[0, :, 0, 0].tolist()) for t in tensors] == [(10, 10), (20, 10), (30, 20)]
