"""What the teacher sees: the simulator's state as a short vector that means the same on any
track (speed, where the car sits in its lane, how the road bends ahead, where the next boxes
are). Privileged information a camera only hints at; the camera student learns to act on the
frames the teacher's states produce.
"""

from __future__ import annotations

import math

import numpy as np

from lensbox.racer.sim import RaceSim

LOOKAHEAD = (0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0)  # metres ahead along the centre line
BOX_RANGE = 3.0  # metres: boxes further ahead are not in the vector
# Boxes count until the car's front is this far past their middle: the car's body is beside
# a box for a while after its front passes it, and steering back into the lane too soon would
# clip it. (The camera sees a box until about 0.15 m past; the student learns to hold the
# other lane a moment after it disappears.)
BOX_BEHIND = 0.5
N_BOXES = 2
SIZE = 6 + len(LOOKAHEAD) + 2 * N_BOXES


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def state_vector(sim: RaceSim) -> np.ndarray:
    """(SIZE,) float32, each entry roughly within -1..1."""
    projection = sim.projection
    assert projection is not None
    car, track, limits = sim.car, sim.track, sim.limits
    _, heading_here = track.point_at(projection.s)
    pending_steering, pending_speed = car.command_in_flight
    values = [
        car.speed / limits.max_speed,
        car.steering / limits.max_steering,
        pending_steering / limits.max_steering,
        pending_speed / limits.max_speed,
        projection.offset / max(projection.half_width, 1e-3),
        _wrap(car.yaw - heading_here) / (math.pi / 2),
    ]
    values += [_wrap(track.point_at(projection.s + d)[1] - car.yaw) / math.pi for d in LOOKAHEAD]
    ahead = sorted(
        (((box.s - projection.s + BOX_BEHIND) % track.length) - BOX_BEHIND, box)
        for box in sim.boxes
    )
    for index in range(N_BOXES):
        if index < len(ahead) and ahead[index][0] < BOX_RANGE:
            distance, box = ahead[index]
            lane = (0.25 if box.left else -0.25) * track.width
            values += [
                distance / BOX_RANGE,
                (lane - projection.offset) / max(projection.half_width, 1e-3),
            ]
        else:
            values += [1.0, 0.0]
    return np.asarray(values, dtype=np.float32)
