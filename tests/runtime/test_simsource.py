"""The simulated car as a frame source: actions drive it, and its map marks the project stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lensbox.runtime.simsource import SimulatedCar
from tests.helpers.tracks import write_track


def test_the_car_follows_commanded_actions_and_draws_its_map(tmp_path: Path) -> None:
    car = SimulatedCar(str(write_track(tmp_path / "stadium.npy")))
    car.open()
    car._next = float("-inf")  # no real-time pacing in a unit test
    car.actuate({"action": {"steering_angle": 0.0, "speed": 1.0}})
    frames = [car.read() for _ in range(30)]
    assert all(f is not None and f.shape == (120, 160, 3) for f in frames)
    document = car.actuate({"action": {"steering_angle": 0.0, "speed": 1.0}})
    assert document["car"]["progress"] > 0 and document["car"]["speed"] > 0.5

    image = np.zeros((120, 160, 3), np.uint8)
    car.overlay(image, document)
    corner = image[:45, 100:]
    assert corner.any() and not image[60:, :80].any()  # the map sits top right, nowhere else
    red = (corner[..., 2] > 200) & (corner[..., 1] < 60) & (corner[..., 0] < 60)
    assert red.any()  # the car's marker

    untouched = np.zeros_like(image)
    car.overlay(untouched, {"action": {}})  # a result without the car's state: no map
    assert not untouched.any()
