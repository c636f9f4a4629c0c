"""Random closed tracks in DeepRacer's file format, for domain randomisation.

A camera student that only ever saw one track learns that track's corners; one that also
drives random smooth loops of varied width learns to follow a road. These are generated, never
evaluated on: time trials use real DeepRacer tracks.
"""

from __future__ import annotations

import math

import numpy as np

from lensbox.racer.track import Track


def random_track(rng: np.random.Generator, name: str = "random") -> Track:
    """A smooth, non-self-intersecting loop 15-30 m long, 0.6-1.2 m wide, counter-clockwise."""
    for _ in range(50):
        n = 240
        angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
        radius = np.ones(n)
        for harmonic in range(2, 5):
            amplitude = rng.uniform(0, 0.28 / harmonic)
            radius += amplitude * np.cos(harmonic * angles + rng.uniform(0, 2 * math.pi))
        scale = rng.uniform(2.4, 4.2)
        stretch = rng.uniform(1.0, 1.6)
        x = scale * stretch * radius * np.cos(angles)
        y = scale * radius * np.sin(angles)
        centre = np.stack([x, y], axis=1)
        tangent = np.roll(centre, -1, axis=0) - np.roll(centre, 1, axis=0)
        tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)  # left: the inside
        half = rng.uniform(0.3, 0.6)
        inner, outer = centre + half * normal, centre - half * normal
        if _min_radius(centre) < half * 1.3 or _self_intersects(inner):
            continue
        rows = np.hstack([centre, inner, outer])
        rows = np.vstack([rows, rows[:1]]) + [6.0, 4.0] * 3
        return Track(name, rows)
    raise RuntimeError("could not generate a valid random track")


def _min_radius(points: np.ndarray) -> float:
    a, b, c = np.roll(points, 1, axis=0), points, np.roll(points, -1, axis=0)
    ab, bc, ca = (np.linalg.norm(v, axis=1) for v in (b - a, c - b, a - c))
    cross = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    radius = ab * bc * ca / np.maximum(2 * cross, 1e-12)
    return float(radius.min())


def _self_intersects(loop: np.ndarray) -> bool:
    """Whether a closed polyline crosses itself (segments that are not neighbours)."""
    n = len(loop)
    a, b = loop, np.roll(loop, -1, axis=0)
    for i in range(n):
        p, r = a[i], b[i] - a[i]
        q, s = a, b - a
        denominator = r[0] * s[:, 1] - r[1] * s[:, 0]
        valid = np.abs(denominator) > 1e-12
        t = ((q - p)[:, 0] * s[:, 1] - (q - p)[:, 1] * s[:, 0]) / np.where(valid, denominator, 1)
        u = ((q - p)[:, 0] * r[1] - (q - p)[:, 1] * r[0]) / np.where(valid, denominator, 1)
        hit = valid & (t > 0) & (t < 1) & (u > 0) & (u < 1)
        neighbours = np.zeros(n, bool)
        neighbours[[(i - 1) % n, i, (i + 1) % n]] = True
        if (hit & ~neighbours).any():
            return True
    return False
