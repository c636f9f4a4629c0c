"""Tracks, the car's limits and DeepRacer's params, on a small generated stadium track."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lensbox.errors import DataError
from lensbox.racer.car import Car, CarLimits
from lensbox.racer.check import pursue
from lensbox.racer.reward import PARAM_KEYS
from lensbox.racer.sim import RaceSim
from lensbox.racer.track import SHIPPED, load_track
from tests.helpers.tracks import stadium, write_track

STRAIGHT, RADIUS = 3.0, 1.2
LENGTH = 2 * STRAIGHT + 2 * math.pi * RADIUS


@pytest.fixture
def track_file(tmp_path: Path) -> Path:
    return write_track(tmp_path / "stadium.npy", straight=STRAIGHT, radius=RADIUS)


def test_a_track_file_reads_with_its_length_width_and_geometry(track_file: Path) -> None:
    track = load_track(str(track_file))
    assert track.name == "stadium"
    assert track.length == pytest.approx(LENGTH, rel=0.01)
    assert track.width == pytest.approx(0.76, abs=1e-6)
    left = track.project(1.0, 0.2)  # on the bottom straight, driving +x: +y is left
    assert left.offset == pytest.approx(0.2) and left.s == pytest.approx(1.0)
    assert track.project(1.0, -0.3).offset == pytest.approx(-0.3)
    point, heading = track.point_at(1.5)
    assert np.allclose(point, [1.5, 0.0]) and heading == pytest.approx(0.0)


def test_clockwise_reverses_the_waypoints_and_swaps_the_sides(track_file: Path) -> None:
    track = load_track(str(track_file), direction="clockwise")
    assert track.reversed
    assert track.project(1.0, 0.2).offset == pytest.approx(-0.2)  # now driving -x


def test_shipped_tracks_load_with_their_licence_beside_them() -> None:
    from importlib import resources

    folder = resources.files("lensbox.racer").joinpath("tracks")
    assert "Apache License" in folder.joinpath("LICENSE").read_text()
    for name in SHIPPED:
        track = load_track(name)
        assert track.length > 10 and 0.5 < track.width < 1.3
    assert load_track("reinvent_base").length == pytest.approx(17.71, abs=0.01)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (np.zeros((10, 4)), r"shape \[10, 4\]"),
        (np.full((10, 6), np.nan), "finite numbers"),
        (b"not numpy", "not a DeepRacer track file"),
    ],
)
def test_a_malformed_track_file_gets_one_line(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "bad.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    with pytest.raises(DataError, match=message) as error:
        load_track(str(path))
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(DataError, match="shipped tracks: reinvent_base"):
        load_track("no_such_track")


def test_the_car_obeys_its_limits() -> None:
    limits = CarLimits()
    car = Car.at_front(0.0, 0.0, 0.0, limits)
    car.step(0.0, 4.0)
    assert car.speed == 0.0  # one frame of actuation lag
    for _ in range(15):
        car.step(0.0, 4.0)
    assert car.speed == pytest.approx(2.0 * 15 / 15.0, abs=1e-6)  # 2 m/s^2 for 1 s
    for _ in range(30):
        car.step(0.0, 4.0)
    yaw_before = car.yaw
    car.step(30.0, 4.0)
    car.step(30.0, 4.0)
    # At 4 m/s, 30 degrees asks for 4*tan(30)/0.165 = 14 rad/s; grip allows 5/4 = 1.25 rad/s.
    turned = (car.yaw - yaw_before) / limits.dt
    assert turned == pytest.approx(1.25, rel=0.02) and car.slip > 10
    car.step(0.0, 0.1)
    car.step(0.0, 0.1)
    assert car.speed == pytest.approx(4.0 - 4.0 / 15, abs=1e-6)  # braking at 4 m/s^2


def test_params_follow_the_deepracer_contract_through_a_lap(track_file: Path) -> None:
    track = load_track(str(track_file))
    sim = RaceSim(track)
    first = sim.reset(0.0)
    assert set(first) == set(PARAM_KEYS)
    seen_waypoints = set()
    while not sim.lap_complete and sim.steps < 1000:
        params = sim.step(*pursue(sim, 1.5))
        assert params["all_wheels_on_track"] and not params["is_offtrack"]
        assert -180 <= params["heading"] <= 180
        assert 0 <= params["progress"] <= 100 and params["distance_from_center"] < 0.15
        previous, following = params["closest_waypoints"]
        assert following == (previous + 1) % len(params["waypoints"]) or following == previous + 1
        seen_waypoints.add(previous)
        assert params["speed"] == 1.5 and params["steps"] == sim.steps
    assert sim.lap_complete and params["progress"] == 100.0
    assert len(seen_waypoints) > 0.9 * (len(params["waypoints"]) - 1)
    # ~LENGTH / 1.5 m/s at 15 steps/s, plus the time to get up to speed
    assert LENGTH / 1.5 * 15 < sim.steps < LENGTH / 1.5 * 15 + 30
    assert params["sim_time"] == pytest.approx(sim.steps / 15)
    assert params["objects_location"] == [] and params["closest_objects"] == [0, 0]


def test_leaving_the_track_and_hitting_a_box_end_the_episode(track_file: Path) -> None:
    track = load_track(str(track_file))
    sim = RaceSim(track)
    sim.reset(0.5)
    while not sim.off_track and sim.steps < 100:
        params = sim.step(-30.0, 1.0)  # hard right on a counter-clockwise track: outwards
        if not params["is_offtrack"] and not params["all_wheels_on_track"]:
            assert params["distance_from_center"] > 0.76 / 2 - 0.2
    assert sim.off_track and params["is_offtrack"] and not params["all_wheels_on_track"]

    boxed = RaceSim(track, n_objects=2)
    params = boxed.reset(0.0, np.random.default_rng(4))
    assert len(params["objects_location"]) == 2 and len(params["objects_distance"]) == 2
    assert all(2.0 <= d < LENGTH for d in params["objects_distance"])
    box = boxed.boxes[0]
    lane = 0.25 * track.width * (1 if box.left else -1)
    boxed.reset(box.s - 1.0, offset=lane)
    boxed.boxes = [box]
    while not boxed.crashed and boxed.steps < 60:
        params = boxed.step(*pursue(boxed, 1.0, offset=lane))
    assert params["is_crashed"] and params["object_in_camera"]
    assert params["closest_objects"] == [0, 0]

    before = boxed.travelled
    boxed.recover()  # a time trial's recovery: on the centre line, clear of the box
    assert not boxed.crashed and not boxed._hits_box()
    assert 0 <= boxed.travelled - before < 0.8 and boxed.car.speed == 0


def test_the_simulator_steps_thousands_of_times_a_second(track_file: Path) -> None:
    """Not a timing target (that is ``make bench``): a guard against an accidental 100x."""
    import time

    sim = RaceSim(load_track(str(track_file)))
    start = time.perf_counter()
    for _ in range(500):
        sim.step(*pursue(sim, 1.0))
        if sim.lap_complete:
            sim.reset(0.0)
    assert time.perf_counter() - start < 5.0


def test_stadium_helper_is_counter_clockwise() -> None:
    rows = stadium()
    x, y = rows[:-1, 0], rows[:-1, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    assert area > 0
