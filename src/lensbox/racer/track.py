"""DeepRacer tracks: waypoint files read as DeepRacer reads them, and where a point lies on one.

A track file is ``numpy.load``-able float ``(N, 6)``: centre x, y, inner edge x, y, outer edge
x, y, in metres, a closed loop (the last row usually repeats the first). Some files repeat a row
(a zero-length segment), which every computation here tolerates. ``clockwise`` reverses the
waypoints, as DeepRacer does for that direction, so indices and progress follow the direction
of travel. Numpy only: the device's simulated source uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from lensbox.errors import DataError

SHIPPED = ("reinvent_base", "Oval_track", "Bowtie_track")
DIRECTIONS = ("counterclockwise", "clockwise")


@dataclass(frozen=True)
class Projection:
    """Where a point lies relative to the centre line."""

    segment: int  # index of the waypoint the segment starts at
    t: float  # 0..1 along that segment
    s: float  # metres along the centre line from waypoint 0
    offset: float  # signed distance from the centre line: > 0 left of the direction of travel
    half_width: float  # the track's half width there


@dataclass(frozen=True)
class Track:
    name: str
    waypoints: np.ndarray  # (N, 6), in the direction of travel
    reversed: bool = False
    centre: np.ndarray = field(init=False, repr=False)
    starts: np.ndarray = field(init=False, repr=False)  # (M, 2) segment starts
    vectors: np.ndarray = field(init=False, repr=False)  # (M, 2) segment vectors
    cumulative: np.ndarray = field(init=False, repr=False)  # (M + 1,) metres at each start
    widths: np.ndarray = field(init=False, repr=False)  # (M + 1,) edge-to-edge at each start

    def __post_init__(self) -> None:
        points = self.waypoints
        centre = points[:, 0:2]
        closed = np.allclose(centre[0], centre[-1], atol=1e-6)
        ends = centre if closed else np.vstack([centre, centre[:1]])
        widths = np.linalg.norm(points[:, 4:6] - points[:, 2:4], axis=1)
        if not closed:
            widths = np.append(widths, widths[0])
        vectors = np.diff(ends, axis=0)
        lengths = np.linalg.norm(vectors, axis=1)
        object.__setattr__(self, "centre", centre)
        object.__setattr__(self, "starts", ends[:-1])
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "cumulative", np.concatenate([[0.0], np.cumsum(lengths)]))
        object.__setattr__(self, "widths", widths)

    @property
    def length(self) -> float:
        return float(self.cumulative[-1])

    @property
    def width(self) -> float:
        """One width for the whole track (``track_width``): the median edge-to-edge distance."""
        return float(np.median(self.widths))

    @property
    def n_segments(self) -> int:
        return len(self.vectors)

    def waypoint_list(self) -> list[list[float]]:
        """``params['waypoints']``: the centre points, in the direction of travel."""
        return [[float(x), float(y)] for x, y in self.centre]

    def project(self, x: float, y: float, hint: int | None = None, window: int = 12) -> Projection:
        """The nearest point of the centre line; with ``hint`` (the last segment) only the
        segments around it are searched, which keeps a simulator step in microseconds."""
        segment, t, s, offset, half = self.project_many(np.array([[x, y]]), hint, window)
        return Projection(
            int(segment[0]), float(t[0]), float(s[0]), float(offset[0]), float(half[0])
        )

    def project_many(
        self, points: np.ndarray, hint: int | None = None, window: int = 12
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`project` for (K, 2) points at once: (segment, t, s, offset, half_width)."""
        m = self.n_segments
        if hint is None or m <= 2 * window + 1:
            index = np.arange(m)
        else:
            index = np.arange(hint - window, hint + window + 1) % m
        starts, vectors = self.starts[index], self.vectors[index]  # (W, 2)
        rel = points[:, None, :] - starts[None]  # (K, W, 2)
        len2 = np.maximum((vectors * vectors).sum(1), 1e-12)  # (W,)
        t = np.clip((rel * vectors[None]).sum(2) / len2, 0.0, 1.0)  # (K, W)
        gap = rel - vectors[None] * t[..., None]
        d2 = (gap * gap).sum(2)
        best = d2.argmin(axis=1)
        rows = np.arange(len(points))
        along, segment = t[rows, best], index[best]
        vector, offset_vec = vectors[best], rel[rows, best]
        cross = vector[:, 0] * offset_vec[:, 1] - vector[:, 1] * offset_vec[:, 0]
        distance = np.sqrt(d2[rows, best])
        s = self.cumulative[segment] + along * np.sqrt(len2[best])
        width = (1 - along) * self.widths[segment] + along * self.widths[segment + 1]
        return segment, along, s, np.where(cross >= 0, distance, -distance), width / 2

    def point_at(self, s: float) -> tuple[np.ndarray, float]:
        """The centre point ``s`` metres along the track (wrapping) and the heading there."""
        s = float(s) % self.length
        segment = int(np.searchsorted(self.cumulative, s, side="right") - 1)
        segment = min(max(segment, 0), self.n_segments - 1)
        while self.cumulative[segment + 1] - self.cumulative[segment] < 1e-9:
            segment = (segment + 1) % self.n_segments  # skip repeated rows
        length = self.cumulative[segment + 1] - self.cumulative[segment]
        t = (s - self.cumulative[segment]) / length
        vector = self.vectors[segment]
        return self.starts[segment] + t * vector, float(np.arctan2(vector[1], vector[0]))

    def closest_waypoints(self, projection: Projection) -> list[int]:
        """``[previous, next]``: the waypoints behind and ahead of the projected point."""
        following = projection.segment + 1
        if following >= len(self.centre):
            following = 0
        return [projection.segment, following]


def read_track(path: Path, name: str | None = None, direction: str = "counterclockwise") -> Track:
    """A DeepRacer waypoint file; anything else gets one line saying what is wrong."""
    if direction not in DIRECTIONS:
        raise DataError(f"--direction {direction!r}: use clockwise or counterclockwise")
    try:
        points = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"{path}: not a DeepRacer track file ({exc}); expected a .npy of N x 6 waypoints"
        ) from None
    if points.ndim != 2 or points.shape[1] != 6 or points.shape[0] < 4:
        raise DataError(
            f"{path}: waypoints have shape {list(points.shape)}; a DeepRacer track is N x 6 "
            "(centre, inner and outer x, y in metres) with at least 4 rows"
        )
    if not np.issubdtype(points.dtype, np.number) or not np.isfinite(points).all():
        raise DataError(f"{path}: waypoints must be finite numbers")
    points = points.astype(np.float64)
    if float(np.linalg.norm(np.diff(points[:, 0:2], axis=0), axis=1).sum()) < 1.0:
        raise DataError(f"{path}: the centre line is shorter than 1 m; not a track")
    if direction == "clockwise":
        points = points[::-1][:, [0, 1, 4, 5, 2, 3]].copy()  # inner and outer swap sides
    return Track(name or path.stem, points, reversed=direction == "clockwise")


def load_track(name_or_path: str, direction: str = "counterclockwise") -> Track:
    """``--track NAME`` (a shipped track) or ``--track FILE.npy`` (any DeepRacer track file)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".npy" or candidate.exists():
        if not candidate.is_file():
            raise DataError(f"{candidate}: no such track file")
        return read_track(candidate, direction=direction)
    if name_or_path not in SHIPPED:
        raise DataError(
            f"unknown track {name_or_path!r}; shipped tracks: {', '.join(SHIPPED)}, "
            "or pass a DeepRacer .npy file"
        )
    source = resources.files("lensbox.racer").joinpath("tracks", f"{name_or_path}.npy")
    with resources.as_file(source) as path:
        return read_track(path, name=name_or_path, direction=direction)
