"""``lensbox racer check-reward``: drive a scripted lap through a reward function.

The script follows the centre line for a whole lap (pure pursuit, at a steady speed), then
steers off the track until it leaves it, so the function sees what training will show it: the
good line, corners, and an excursion. Any error stops the check with DeepRacer's one line; a
clean run reports what the function paid on and off the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lensbox.racer.reward import RewardFunction
from lensbox.racer.sim import RaceSim
from lensbox.racer.track import Track

LOOKAHEAD = 0.45  # metres: pure pursuit's aim point ahead on the centre line


def pursue(sim: RaceSim, speed: float, offset: float = 0.0) -> tuple[float, float]:
    """(steering degrees, speed) towards the point LOOKAHEAD ahead, ``offset`` left of centre."""
    assert sim.projection is not None
    point, heading = sim.track.point_at(sim.projection.s + LOOKAHEAD)
    aim = point + offset * np.array([-math.sin(heading), math.cos(heading)])
    x, y = sim.car.front
    bearing = math.atan2(aim[1] - y, aim[0] - x) - sim.car.yaw
    bearing = (bearing + math.pi) % (2 * math.pi) - math.pi
    distance = max(math.hypot(aim[0] - x, aim[1] - y), 1e-3)
    wheelbase = sim.limits.wheelbase
    steering = math.degrees(math.atan2(2 * wheelbase * math.sin(bearing), distance))
    limit = sim.limits.max_steering
    return float(np.clip(steering, -limit, limit)), speed


@dataclass
class RewardCheck:
    steps: int
    on_track: dict[str, float]
    off_track: dict[str, float]
    lap_complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "steps": self.steps,
            "lap_complete": self.lap_complete,
            "on_track": self.on_track,
            "off_track": self.off_track,
        }


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": round(min(values), 6),
        "mean": round(float(np.mean(values)), 6),
        "max": round(max(values), 6),
    }


def check_reward(
    reward: RewardFunction, track: Track, n_objects: int = 0, speed: float = 1.2
) -> RewardCheck:
    """A scripted lap (plus an excursion) through ``reward``; raises RewardError on its first
    error, with file, line and step."""
    sim = RaceSim(track, n_objects=n_objects)
    sim.reset(0.0, np.random.default_rng(0))
    on: list[float] = []
    off: list[float] = []
    limit = int(3 * track.length / speed / sim.limits.dt)
    while not sim.lap_complete and sim.steps < limit:
        # With boxes on the track, dodge them: aim for the lane without a box ahead.
        lane = _free_lane(sim)
        params = sim.step(*pursue(sim, speed, lane))
        on.append(reward(params))
    lap_complete = sim.lap_complete
    excursion = 0
    while not sim.off_track and excursion < 200:
        steering = sim.limits.max_steering * 0.6
        params = sim.step(steering, speed)
        (off if not params["all_wheels_on_track"] else on).append(reward(params))
        excursion += 1
    return RewardCheck(sim.steps, _summary(on), _summary(off), lap_complete)


def _free_lane(sim: RaceSim) -> float:
    assert sim.projection is not None
    length = sim.track.length
    for box in sim.boxes:
        ahead = (box.s - sim.projection.s) % length
        if ahead < 1.5:
            return (-0.25 if box.left else 0.25) * sim.track.width
    return 0.0
