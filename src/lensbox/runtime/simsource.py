"""``--source sim:TRACK``: a simulated DeepRacer car whose front camera is the frame source.

The car runs in real time at the camera's 15 Hz. The pipeline hands every result back through
:meth:`SimulatedCar.actuate`, and the car holds the newest commanded action until the next one
arrives, as a servo and a speed controller would. A slow model means the car drives longer on
an old command. After leaving the track the car is put back on the centre line, as in a time
trial, and the off-track is counted. Each result carries the car's progress, lap count and lap
times. Numpy and OpenCV only: the device side stays torch-free.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.racer.camera import Camera, CameraSpec, Look, MapView, TrackMap
from lensbox.racer.sim import RaceSim
from lensbox.racer.track import load_track
from lensbox.runtime.frame_source import FrameSource

FPS = 15.0
TRAIL = 150  # positions on the small map: the last ten seconds


class SimulatedCar(FrameSource):
    live = True

    def __init__(self, track: str) -> None:
        self.track = load_track(track)
        self.source_id = f"sim:{track}"
        self._lock = threading.Lock()
        self._sim: RaceSim | None = None
        self._camera: Camera | None = None
        self._action = (0.0, 0.0)
        self._next = 0.0
        self.lap_times: list[float] = []
        self.off_track = 0
        self._lap_started = 0
        self._map: MapView | None = None
        self._trail: deque[tuple[float, float]] = deque(maxlen=TRAIL)

    @property
    def fps(self) -> float:
        return FPS

    def open(self) -> None:
        with self._lock:
            if self._sim is None:
                self._sim = RaceSim(self.track)
                track_map = TrackMap(self.track)
                self._camera = Camera(track_map, CameraSpec(), Look(noise=0.0))
                self._map = MapView(track_map, CameraSpec().height // 3)
        self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        """The camera frame one tick (1/15 s) after the last, stepping the car meanwhile."""
        cv2 = require("cv2", extra="runtime")
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + 1.0 / FPS, time.monotonic() - 1.0 / FPS)
        with self._lock:
            sim, camera = self._sim, self._camera
            assert sim is not None and camera is not None
            sim.step(*self._action)
            if sim.off_track or sim.crashed:
                self.off_track += 1
                sim.recover()
            if sim.lap_complete:
                self.lap_times.append(round((sim.steps - self._lap_started) / FPS, 2))
                self._lap_started = sim.steps
                sim.travelled -= sim.track.length
            self._trail.append(sim.car.front)
            gray = camera.render(sim.car.front, sim.car.yaw)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)

    def actuate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a result's action to the car; what the car did goes back into the result."""
        action = payload.get("action")
        with self._lock:
            if isinstance(action, dict) and "steering_angle" in action and "speed" in action:
                self._action = (float(action["steering_angle"]), float(action["speed"]))
            sim = self._sim
            if sim is None:
                return {}
            x, y = sim.car.front
            return {
                "car": {
                    "track": self.track.name,
                    "progress": round(sim.progress, 2),
                    "laps": len(self.lap_times),
                    "lap_times": list(self.lap_times),
                    "off_track": self.off_track,
                    "speed": round(sim.car.speed, 3),
                    "x": round(x, 3),
                    "y": round(y, 3),
                }
            }

    def overlay(self, image: np.ndarray, document: dict[str, Any]) -> None:
        """The project stream's small map in the top-right corner: the track, the car's last
        seconds, and where it was when this frame's result was published."""
        car = document.get("car")
        if self._map is None or not isinstance(car, dict):
            return
        with self._lock:  # the reader appends to the trail meanwhile
            trail = [*self._trail, (car["x"], car["y"])]
        view = self._map.draw(trail, thickness=1)
        height, width = view.shape[:2]
        if height + 2 > image.shape[0] or width + 2 > image.shape[1]:
            return
        image[2 : 2 + height, -2 - width : -2] = view
