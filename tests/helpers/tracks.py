"""Tiny DeepRacer-format tracks made in the tests: a stadium (two straights, two half circles)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def stadium(straight: float = 3.0, radius: float = 1.2, width: float = 0.76, step: float = 0.15):
    """(N, 6) waypoints, counter-clockwise, closed (the last row repeats the first)."""
    points = []
    for x in np.arange(0, straight, step):  # bottom straight, heading +x
        points.append((x, 0.0, math.pi / 2))
    for a in np.arange(-math.pi / 2, math.pi / 2, step / radius):  # right half circle
        points.append((straight + radius * math.cos(a), radius + radius * math.sin(a), a + math.pi))
    for x in np.arange(straight, 0, -step):  # top straight, heading -x
        points.append((x, 2 * radius, -math.pi / 2))
    for a in np.arange(math.pi / 2, 3 * math.pi / 2, step / radius):  # left half circle
        points.append((radius * math.cos(a), radius + radius * math.sin(a), a + math.pi))
    rows = []
    for x, y, inward in points:
        # ``inward`` points to the inside of the loop (the left of a counter-clockwise car).
        nx, ny = math.cos(inward), math.sin(inward)
        half = width / 2
        rows.append((x, y, x + half * nx, y + half * ny, x - half * nx, y - half * ny))
    rows.append(rows[0])
    return np.array(rows, dtype=np.float64)


def write_track(path: Path, **kwargs: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, stadium(**kwargs))
    return path
