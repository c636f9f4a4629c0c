"""A 1/18 DeepRacer car as a kinematic bicycle with the limits of a real one.

Why these limits: without them a policy learns to take every corner at full speed, which no
real car can. Grip caps the lateral acceleration (beyond it the car slides wide of the line it
steers), the motor and brakes cap how fast speed changes, and the servo applies each command
one camera frame late, so a policy has to plan its speed before a corner. Numpy only.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

CAMERA_HZ = 15.0


@dataclass(frozen=True)
class CarLimits:
    wheelbase: float = 0.165  # metres, DeepRacer's
    axle_width: float = 0.17  # metres between the wheels of an axle
    min_speed: float = 0.1  # m/s, the action space's bounds
    max_speed: float = 4.0
    max_steering: float = 30.0  # degrees
    max_lateral_acceleration: float = 5.0  # m/s^2: grip; beyond it the car slides wide
    max_acceleration: float = 2.0  # m/s^2
    max_braking: float = 4.0  # m/s^2
    lag_frames: int = 1  # a command takes effect this many frames later
    dt: float = 1.0 / CAMERA_HZ
    substeps: int = 4


@dataclass
class Car:
    """State at the rear axle; ``front`` is what DeepRacer's ``x``, ``y`` report."""

    x: float
    y: float
    yaw: float  # radians, counter-clockwise from +x
    speed: float = 0.0
    steering: float = 0.0  # degrees actually applied
    limits: CarLimits = field(default_factory=CarLimits)
    slip: float = 0.0  # how much yaw rate grip took away on the last step (rad/s)
    _pending: deque[tuple[float, float]] = field(default_factory=deque, repr=False)

    @classmethod
    def at_front(cls, x: float, y: float, yaw: float, limits: CarLimits | None = None) -> Car:
        """A car whose front axle is at (x, y), pointing along ``yaw``, standing still."""
        limits = limits or CarLimits()
        return cls(
            x - limits.wheelbase * math.cos(yaw),
            y - limits.wheelbase * math.sin(yaw),
            yaw,
            limits=limits,
        )

    def __post_init__(self) -> None:
        if not self._pending:  # commands in flight: at first, what the car already does
            self._pending.extend([(self.steering, self.speed)] * self.limits.lag_frames)

    @property
    def front(self) -> tuple[float, float]:
        wheelbase = self.limits.wheelbase
        return self.x + wheelbase * math.cos(self.yaw), self.y + wheelbase * math.sin(self.yaw)

    def wheels(self) -> np.ndarray:
        """(4, 2): rear left, rear right, front left, front right."""
        half = self.limits.axle_width / 2
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        left = np.array([-sin, cos]) * half
        rear = np.array([self.x, self.y])
        front = np.array(self.front)
        return np.array([rear + left, rear - left, front + left, front - left])

    @property
    def command_in_flight(self) -> tuple[float, float]:
        """The newest (steering, speed) commanded but not yet applied (the lag's queue)."""
        return self._pending[-1] if self._pending else (0.0, 0.0)

    def step(self, steering: float, speed: float) -> None:
        """Command (steering degrees, speed m/s) and advance one camera frame."""
        limits = self.limits
        steering = min(max(float(steering), -limits.max_steering), limits.max_steering)
        speed = min(max(float(speed), 0.0), limits.max_speed)
        self._pending.append((steering, speed))
        applied_steering, target = self._pending.popleft()
        self.steering = applied_steering
        dt = limits.dt / limits.substeps
        tan = math.tan(math.radians(applied_steering))
        slip = 0.0
        for _ in range(limits.substeps):
            change = target - self.speed
            self.speed += min(max(change, -limits.max_braking * dt), limits.max_acceleration * dt)
            wanted = self.speed * tan / limits.wheelbase
            cap = limits.max_lateral_acceleration / max(self.speed, 1e-6)
            rate = min(max(wanted, -cap), cap)
            slip = max(slip, abs(wanted) - abs(rate))
            self.yaw = (self.yaw + rate * dt + math.pi) % (2 * math.pi) - math.pi
            self.x += self.speed * math.cos(self.yaw) * dt
            self.y += self.speed * math.sin(self.yaw) * dt
        self.slip = slip
