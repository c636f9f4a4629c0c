"""INT8 for the models scored without labelled images: a drive model is calibrated on the
frames its own policy sees lapping a track and judged by its laps."""

from __future__ import annotations

from pathlib import Path

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
