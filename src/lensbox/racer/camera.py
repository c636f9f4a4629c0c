"""The car's front camera: 160x120 grayscale, rendered by projecting the track's ground plane.

The track is drawn once, top-down, as a label map (floor, surface, edge line, centre dash). An
episode's look (colours, noise, lighting) turns it into a grayscale texture through a lookup
table; each frame is then one ``cv2.warpPerspective`` of that texture through the camera's
ground-plane homography, which costs tens of microseconds. Boxes on the track (the
object-avoidance race) are drawn as the silhouettes of their eight projected corners.
Randomising the look and the camera's mount per episode keeps a camera policy from learning
one picture. OpenCV + numpy only: the device's simulated source renders with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lensbox._optional import require
from lensbox.racer.track import Track

FLOOR, SURFACE, EDGE, DASH = 0, 1, 2, 3
PIXELS_PER_METRE = 80


@dataclass(frozen=True)
class CameraSpec:
    width: int = 160
    height: int = 120
    fov: float = 120.0  # horizontal, degrees (DeepRacer's wide-angle lens)
    mount_height: float = 0.12  # metres above the floor
    tilt: float = 20.0  # degrees down from horizontal
    forward: float = 0.03  # metres ahead of the front axle

    @property
    def focal(self) -> float:
        return (self.width / 2) / math.tan(math.radians(self.fov) / 2)

    def jittered(self, rng: np.random.Generator) -> CameraSpec:
        """The same camera as mounted on another car: height, tilt and lens a little off."""
        return replace(
            self,
            mount_height=self.mount_height + rng.uniform(-0.015, 0.015),
            tilt=self.tilt + rng.uniform(-3.0, 3.0),
            fov=self.fov + rng.uniform(-5.0, 5.0),
        )


@dataclass(frozen=True)
class Look:
    """An episode's lighting and surfaces: grey levels per label, noise and gain."""

    levels: tuple[int, int, int, int] = (70, 125, 235, 200)  # floor, surface, edge, dash
    wall: int = 40
    noise: float = 3.0
    gain: float = 1.0
    box: int = 215

    @classmethod
    def random(cls, rng: np.random.Generator) -> Look:
        floor = int(rng.uniform(30, 110))
        surface = int(np.clip(floor + rng.uniform(25, 90), 0, 200))
        return cls(
            levels=(
                floor,
                surface,
                int(rng.uniform(205, 255)),
                int(rng.uniform(160, 240)),
            ),
            wall=int(rng.uniform(10, 120)),
            noise=float(rng.uniform(0, 8)),
            gain=float(rng.uniform(0.7, 1.3)),
            box=int(rng.choice([int(rng.uniform(180, 255)), int(rng.uniform(5, 40))])),
        )


class TrackMap:
    """The track drawn top-down once: labels per pixel and the pixel -> metre transform."""

    def __init__(self, track: Track, margin: float = 1.5) -> None:
        cv2 = require("cv2", extra="runtime")
        points = track.waypoints
        xy = points.reshape(-1, 2)
        self.x0 = float(xy[:, 0].min()) - margin
        self.y1 = float(xy[:, 1].max()) + margin
        width = math.ceil((float(xy[:, 0].max()) + margin - self.x0) * PIXELS_PER_METRE)
        height = math.ceil((self.y1 - float(xy[:, 1].min()) + margin) * PIXELS_PER_METRE)
        labels = np.full((height, width), FLOOR, np.uint8)
        inner, outer = self.to_pixels(points[:, 2:4]), self.to_pixels(points[:, 4:6])
        for i in range(len(points) - 1):
            quad = np.array([inner[i], inner[i + 1], outer[i + 1], outer[i]], np.int32)
            cv2.fillConvexPoly(labels, quad, SURFACE, lineType=cv2.LINE_8)
        line = max(2, round(0.05 * PIXELS_PER_METRE))
        cv2.polylines(labels, [inner.astype(np.int32)], True, EDGE, line, cv2.LINE_8)
        cv2.polylines(labels, [outer.astype(np.int32)], True, EDGE, line, cv2.LINE_8)
        dash, step = 0.15, 0.3  # metres: a dash, then a gap
        s = 0.0
        while s < track.length:
            a, _ = track.point_at(s)
            b, _ = track.point_at(min(s + dash, track.length))
            ends = self.to_pixels(np.array([a, b])).astype(np.int32)
            cv2.line(labels, tuple(ends[0]), tuple(ends[1]), DASH, max(1, line // 2))
            s += step
        self.labels = labels
        self.grain = np.random.default_rng(0).normal(0, 1, labels.shape).astype(np.float32)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.stack(
            [(xy[:, 0] - self.x0) * PIXELS_PER_METRE, (self.y1 - xy[:, 1]) * PIXELS_PER_METRE],
            axis=1,
        )

    def texture(self, look: Look) -> np.ndarray:
        """Grayscale top-down track in this look (per-pixel grain scaled by the look's noise)."""
        table = np.zeros(256, np.float32)
        table[: len(look.levels)] = look.levels
        shaded = table[self.labels] * look.gain + self.grain * look.noise * 2
        return np.clip(shaded, 0, 255).astype(np.uint8)


NEAR = 0.02  # metres: what is closer to the lens than this is not drawn
BOX_EDGES = [(i, (i + 1) % 4) for i in range(4)] + [(i + 4, (i + 1) % 4 + 4) for i in range(4)]
BOX_EDGES += [(i, i + 4) for i in range(4)]


def _clip_to_near_plane(points: np.ndarray) -> np.ndarray:
    """A box's (8, 3) corners in camera coordinates -> the corners of the part in front of the
    near plane: the corners there and where edges cross it. The box is convex, so its picture
    is the convex hull of these points' projections. A box the car is right beside stays in
    the picture (half of it), as it does in a real camera."""
    front = points[:, 2] >= NEAR
    if front.all():
        return points
    kept = [points[front]]
    for a, b in BOX_EDGES:
        if front[a] != front[b]:
            t = (NEAR - points[a, 2]) / (points[b, 2] - points[a, 2])
            kept.append((points[a] + t * (points[b] - points[a]))[None])
    return np.concatenate(kept)


class Camera:
    """Renders what the car's camera sees of one track, in one look."""

    def __init__(self, track_map: TrackMap, spec: CameraSpec, look: Look) -> None:
        self.map = track_map
        self.spec = spec
        self.look = look
        self.texture = track_map.texture(look)
        k = spec.focal
        self.K = np.array([[k, 0, spec.width / 2], [0, k, spec.height / 2], [0, 0, 1]])
        scale = 1.0 / PIXELS_PER_METRE
        self.pixel_to_world = np.array(
            [[scale, 0, track_map.x0], [0, -scale, track_map.y1], [0, 0, 1]]
        )
        horizon = spec.height / 2 - k * math.tan(math.radians(spec.tilt))
        self.sky_rows = int(np.clip(math.ceil(horizon) + 1, 0, spec.height))
        self.rng = np.random.default_rng(0)

    def pose(self, front: tuple[float, float], yaw: float) -> tuple[np.ndarray, np.ndarray]:
        """World -> camera rotation and the camera's position."""
        tilt = math.radians(self.spec.tilt)
        forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        optical = np.array(
            [math.cos(tilt) * forward[0], math.cos(tilt) * forward[1], -math.sin(tilt)]
        )
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        down = np.cross(optical, right)
        rotation = np.stack([right, down, optical])
        position = np.array(
            [
                front[0] + self.spec.forward * forward[0],
                front[1] + self.spec.forward * forward[1],
                self.spec.mount_height,
            ]
        )
        return rotation, position

    def render(
        self,
        front: tuple[float, float],
        yaw: float,
        boxes: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """(height, width) uint8: the camera frame at this pose; ``boxes`` are (8, 3) corners."""
        cv2 = require("cv2", extra="runtime")
        spec = self.spec
        rotation, position = self.pose(front, yaw)
        ground = self.K @ np.column_stack([rotation[:, 0], rotation[:, 1], -rotation @ position])
        homography = ground @ self.pixel_to_world
        frame = cv2.warpPerspective(
            self.texture,
            homography,
            (spec.width, spec.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=int(self.look.levels[FLOOR] * self.look.gain),
        )
        frame[: self.sky_rows] = int(np.clip(self.look.wall * self.look.gain, 0, 255))
        for corners in boxes or []:
            camera_points = _clip_to_near_plane((corners - position) @ rotation.T)
            if len(camera_points) < 3:
                continue  # wholly behind the lens
            projected = camera_points @ self.K.T
            pixels = projected[:, :2] / projected[:, 2:3]
            pixels = np.clip(pixels, -20 * spec.width, 20 * spec.width)  # near the lens: big
            hull = cv2.convexHull(pixels.astype(np.float32)).astype(np.int32)
            cv2.fillConvexPoly(frame, hull, int(self.look.box), lineType=cv2.LINE_AA)
            cv2.polylines(frame, [hull], True, int(self.look.box) // 2, 1, cv2.LINE_AA)
        if self.look.noise > 0:
            noise = self.rng.normal(0, self.look.noise, frame.shape)
            frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        return frame


class MapView:
    """The track top-down at a given height in pixels, in colour, with the car's trail and
    where it is now: the trial video's right half, and the small map in a simulated car's
    project stream."""

    def __init__(self, track_map: TrackMap, height: int) -> None:
        cv2 = require("cv2", extra="runtime")
        base = track_map.texture(Look(noise=0.0))
        self.track_map = track_map
        self.scale = height / base.shape[0]
        size = (max(1, round(base.shape[1] * self.scale)), height)
        self.base = cv2.cvtColor(
            cv2.resize(base, size, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR
        )

    def draw(self, trail: list[tuple[float, float]], thickness: int = 2) -> np.ndarray:
        """A copy of the map with the trail (metres, oldest first) and the car at its end."""
        cv2 = require("cv2", extra="runtime")
        image = self.base.copy()
        if not trail:
            return image
        points = (self.track_map.to_pixels(np.array(trail)) * self.scale).astype(np.int32)
        cv2.polylines(image, [points], False, (0, 200, 255), thickness, cv2.LINE_AA)
        radius = max(2, 2 * thickness + 1)
        cv2.circle(image, tuple(int(v) for v in points[-1]), radius, (0, 0, 255), -1, cv2.LINE_AA)
        return image
