"""The user's ``reward_function(params) -> float``, with AWS DeepRacer's contract exactly.

The params dict carries every key DeepRacer fills, with its meaning and units, so reward
functions written for AWS DeepRacer run unchanged:

============================  ====================================================================
``all_wheels_on_track``       bool: every wheel is inside the track's borders
``x``, ``y``                  float, metres: the front of the car
``heading``                   float, degrees in (-180, 180]: the car's yaw, counter-clockwise
``distance_from_center``      float, metres from the centre line
``is_left_of_center``         bool: left of the centre line, in the direction of travel
``projection_distance``       float, metres along the centre line from the start line
``progress``                  float, 0-100: percent of a lap done since the episode began
``steps``                     int: steps (camera frames, 15 per second) taken this episode
``speed``                     float, m/s: the speed of the action taken (what was commanded)
``steering_angle``            float, degrees: the action's steering; positive steers left
``track_width``               float, metres
``track_length``              float, metres of centre line
``waypoints``                 list of [x, y]: the centre line, in the direction of travel
``closest_waypoints``         [int, int]: the waypoints behind and ahead of the car
``is_reversed``               bool: the race runs clockwise
``is_offtrack``               bool: all four wheels left the track (the episode ends)
``is_crashed``                bool: the car hit a box (the episode ends)
``sim_time``                  float, seconds since the episode began
``closest_objects``           [int, int]: the boxes behind and ahead ([0, 0] without boxes)
``objects_location``          list of (x, y) of each box
``objects_distance``          list of metres from the start line to each box, along the track
``objects_heading``           list of degrees: each box's heading
``objects_left_of_center``    list of bool: each box's lane
``objects_speed``             list of m/s (boxes stand still: 0)
``object_in_camera``          bool: a box is within the camera's view ahead
============================  ====================================================================

A reward that raises, returns something other than a finite number, or does not compile is
reported in one line with the file, the line and the step; training never carries on past it.
"""

from __future__ import annotations

import copy
import hashlib
import math
import numbers
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lensbox._usercode import load_user_module, user_line
from lensbox.errors import RewardError

PARAM_KEYS = (
    "all_wheels_on_track",
    "x",
    "y",
    "heading",
    "distance_from_center",
    "is_left_of_center",
    "projection_distance",
    "progress",
    "steps",
    "speed",
    "steering_angle",
    "track_width",
    "track_length",
    "waypoints",
    "closest_waypoints",
    "is_reversed",
    "is_offtrack",
    "is_crashed",
    "sim_time",
    "closest_objects",
    "objects_location",
    "objects_distance",
    "objects_heading",
    "objects_left_of_center",
    "objects_speed",
    "object_in_camera",
)


class RewardFunction:
    """A loaded reward function; calling it checks what it returns."""

    def __init__(self, function: Callable[[dict[str, Any]], Any], path: Path) -> None:
        self.function = function
        self.path = path
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: str | Path) -> RewardFunction:
        target = Path(path)
        module = load_user_module(target, RewardError)
        function = getattr(module, "reward_function", None)
        if not callable(function):
            raise RewardError(f"{target}: defines no reward_function(params)")
        return cls(function, target)

    def __call__(self, params: dict[str, Any], step: int | None = None) -> float:
        where = f" at step {params.get('steps') if step is None else step}"
        try:
            # A copy: a function that edits its params must not change the simulator's.
            value = self.function(copy.copy(params))
        except Exception as exc:
            line = user_line(exc, self.path)
            detail = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, KeyError):
                detail = f"KeyError: {exc} is not a DeepRacer param"
            raise RewardError(f"{self.path}:{line or '?'}: {detail}{where}") from None
        if not isinstance(value, numbers.Real):
            raise RewardError(
                f"{self.path}: reward_function returned {type(value).__name__} "
                f"({value!r:.40}){where}; it must return a number"
            )
        if not math.isfinite(value):
            raise RewardError(f"{self.path}: reward_function returned {value}{where}")
        return float(value)
