"""The race: a car on a track, boxes to avoid, and DeepRacer's ``params`` after every step.

``RaceSim`` owns one episode at a time: where the car starts, how far it has come (progress),
whether it left the track or hit a box, and the params dict a reward function receives, with
every key DeepRacer fills and DeepRacer's meaning and units (see ``lensbox.racer.reward``).
It knows nothing of learning; the Gymnasium environment and the evaluators drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lensbox.racer.car import Car, CarLimits
from lensbox.racer.track import Projection, Track

BOX_SIZE = (0.3, 0.3, 0.25)  # metres: length along the track, width, height
CAMERA_RANGE = 3.0  # metres ahead within which a box counts as in the camera's view
CAMERA_HALF_ANGLE = 60.0  # degrees: half the lens's horizontal field of view


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    heading: float  # radians, the track's direction where it stands
    s: float  # metres along the track from the start line
    left: bool

    def corners(self) -> np.ndarray:
        """(8, 3) corners in metres: the footprint at the floor, then at the top."""
        length, width, height = BOX_SIZE
        cos, sin = math.cos(self.heading), math.sin(self.heading)
        along, across = np.array([cos, sin]) * length / 2, np.array([-sin, cos]) * width / 2
        centre = np.array([self.x, self.y])
        foot = [centre + a * along + b * across for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
        return np.array([[*p, z] for z in (0.0, height) for p in foot])

    def footprint(self) -> np.ndarray:
        return self.corners()[:4, :2]


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex quadrilaterals (4, 2) overlap (separating axis test)."""
    for polygon in (a, b):
        for i in range(4):
            edge = polygon[(i + 1) % 4] - polygon[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


@dataclass
class RaceSim:
    track: Track
    n_objects: int = 0
    limits: CarLimits = field(default_factory=CarLimits)
    car: Car = field(init=False)
    boxes: list[Box] = field(default_factory=list)
    steps: int = 0
    travelled: float = 0.0  # metres along the track since the episode began
    start_s: float = 0.0
    projection: Projection | None = None
    action: tuple[float, float] = (0.0, 0.0)
    off_track: bool = False
    crashed: bool = False
    reversed_driving: bool = False
    _waypoints: list[list[float]] = field(default_factory=list, repr=False)
    _on: np.ndarray = field(default_factory=lambda: np.ones(4, bool), repr=False)

    def __post_init__(self) -> None:
        self._waypoints = self.track.waypoint_list()
        self.reset(0.0)

    # -- episode ------------------------------------------------------------------------------

    def reset(
        self, start_s: float, rng: np.random.Generator | None = None, offset: float = 0.0
    ) -> dict[str, Any]:
        """A new episode with the car's front ``start_s`` metres along the centre line (``offset``
        to its left), standing still; boxes are placed anew when the race has them."""
        point, heading = self.track.point_at(start_s)
        normal = np.array([-math.sin(heading), math.cos(heading)])
        front = point + offset * normal
        self.car = Car.at_front(float(front[0]), float(front[1]), heading, self.limits)
        self.start_s = float(start_s) % self.track.length
        self.steps = 0
        self.travelled = 0.0
        self.action = (0.0, 0.0)
        self.off_track = self.crashed = self.reversed_driving = False
        self.projection = self.track.project(*self.car.front)
        self._on = self._wheels_on_track()
        self.boxes = self.place_boxes(rng or np.random.default_rng(0)) if self.n_objects else []
        return self.params()

    def recover(self) -> None:
        """Put the car back on the centre line where it left it, standing still (what a time
        trial does after an off-track or a crash, with a penalty the caller adds). A box
        reaches over the centre line of a narrow track, so after a crash the car is put down
        just clear of the box it hit, never on it."""
        assert self.projection is not None
        s = self.projection.s
        for _ in range(20):
            point, heading = self.track.point_at(s)
            self.car = Car.at_front(float(point[0]), float(point[1]), heading, self.limits)
            if not self._hits_box():
                break
            s += 0.1
        moved = (s - self.projection.s) % self.track.length
        self.travelled += moved
        self.projection = self.track.project(*self.car.front, hint=self.projection.segment)
        self._on = self._wheels_on_track()
        self.off_track = self.crashed = False

    def step(self, steering: float, speed: float) -> dict[str, Any]:
        """Command an action for one camera frame; returns the params after it."""
        self.action = (float(steering), float(speed))
        self.car.step(steering, speed)
        self.steps += 1
        previous = self.projection
        assert previous is not None
        self.projection = self.track.project(*self.car.front, hint=previous.segment)
        moved = self.projection.s - previous.s
        length = self.track.length
        moved = (moved + length / 2) % length - length / 2  # across the start line
        self.travelled += moved
        self.reversed_driving = self.travelled < -0.5
        self._on = self._wheels_on_track()
        self.off_track = not self._on.any()
        self.crashed = self._hits_box()
        return self.params()

    def _hits_box(self) -> bool:
        return any(
            _overlaps(self._car_footprint(), b.footprint())
            for b in self.boxes
            if abs(b.x - self.car.x) < 1.0 and abs(b.y - self.car.y) < 1.0
        )

    @property
    def progress(self) -> float:
        return float(np.clip(100.0 * self.travelled / self.track.length, 0.0, 100.0))

    @property
    def lap_complete(self) -> bool:
        return self.travelled >= self.track.length

    @property
    def sim_time(self) -> float:
        return self.steps * self.limits.dt

    # -- params -------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """DeepRacer's reward-function input, for the car as it is now."""
        assert self.projection is not None
        car, projection, track = self.car, self.projection, self.track
        x, y = car.front
        params: dict[str, Any] = {
            "all_wheels_on_track": bool(self._on.all()),
            "x": float(x),
            "y": float(y),
            "heading": math.degrees(car.yaw),
            "distance_from_center": abs(projection.offset),
            "is_left_of_center": projection.offset > 0,
            "projection_distance": projection.s,
            "progress": self.progress,
            "steps": self.steps,
            "speed": self.action[1],
            "steering_angle": self.action[0],
            "track_width": track.width,
            "track_length": track.length,
            "waypoints": self._waypoints,
            "closest_waypoints": track.closest_waypoints(projection),
            "is_reversed": track.reversed,
            "is_offtrack": self.off_track,
            "is_crashed": self.crashed,
            "sim_time": self.sim_time,
        }
        params.update(self._object_params(projection))
        return params

    def _object_params(self, projection: Projection) -> dict[str, Any]:
        boxes = self.boxes
        length = self.track.length
        ahead = [((b.s - projection.s) % length, i) for i, b in enumerate(boxes)]
        closest = [0, 0]
        if boxes:
            behind = max(ahead)[1]  # the largest distance ahead is the nearest behind
            closest = [behind, min(ahead)[1]]
        return {
            "closest_objects": closest,
            "objects_location": [(b.x, b.y) for b in boxes],
            "objects_distance": [b.s for b in boxes],
            "objects_heading": [math.degrees(b.heading) for b in boxes],
            "objects_left_of_center": [b.left for b in boxes],
            "objects_speed": [0.0 for _ in boxes],
            "object_in_camera": any(self._in_view(b) for b in boxes),
        }

    def _in_view(self, box: Box) -> bool:
        x, y = self.car.front
        dx, dy = box.x - x, box.y - y
        distance = math.hypot(dx, dy)
        if distance > CAMERA_RANGE:
            return False
        bearing = math.atan2(dy, dx) - self.car.yaw
        bearing = (bearing + math.pi) % (2 * math.pi) - math.pi
        return abs(math.degrees(bearing)) <= CAMERA_HALF_ANGLE

    # -- geometry -----------------------------------------------------------------------------

    def _wheels_on_track(self) -> np.ndarray:
        """Each wheel's side of the border, from the front's projection: a wheel's offset is the
        front's plus its displacement along the track's normal there (the wheels are within
        0.2 m of the front, where the centre line is straight to well under a millimetre)."""
        projection = self.projection
        assert projection is not None
        vector = self.track.vectors[projection.segment]
        norm = math.hypot(vector[0], vector[1]) or 1.0
        normal = np.array([-vector[1], vector[0]]) / norm
        offsets = projection.offset + (self.car.wheels() - self.car.front) @ normal
        return np.asarray(np.abs(offsets) <= projection.half_width)

    def _car_footprint(self) -> np.ndarray:
        wheels = self.car.wheels()  # rear left, rear right, front left, front right
        return np.array([wheels[2], wheels[3], wheels[1], wheels[0]])

    def place_boxes(self, rng: np.random.Generator) -> list[Box]:
        """Boxes in DeepRacer's two lanes (a quarter of the width either side of centre), spread
        along the track and never within 2 m ahead of the start."""
        track = self.track
        usable = track.length - 3.0
        spacing = usable / self.n_objects
        boxes = []
        for i in range(self.n_objects):
            along = 2.0 + spacing * (i + rng.uniform(0.15, 0.85))
            s = (self.start_s + along) % track.length
            point, heading = track.point_at(s)
            left = bool(rng.random() < 0.5)
            offset = (0.25 if left else -0.25) * track.width
            normal = np.array([-math.sin(heading), math.cos(heading)])
            x, y = point + offset * normal
            boxes.append(Box(float(x), float(y), heading, s, left))
        return boxes
