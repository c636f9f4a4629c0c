"""Time trials: a ``drive`` package drives laps from its camera, as DeepRacer evaluates.

The policy is the exported ONNX model run by onnxruntime on the rendered camera frame, exactly
what a device runs; no torch. Laps follow each other without a stop. After leaving the track
the car is put back on the centre line where it left, standing, and the lap time takes the
off-track penalty (DeepRacer's rule); with ``stop_on_off_track`` the lap ends there instead and
its progress says how far it got. Hitting a box counts as a crash and is handled the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.errors import LensboxError
from lensbox.racer.camera import Camera, CameraSpec, Look, MapView, TrackMap
from lensbox.racer.sim import RaceSim
from lensbox.racer.track import Track
from lensbox.tasks.drive import decode_action

LAP_TIME_LIMIT = 120.0  # seconds of sim time before a lap is given up


@dataclass
class Lap:
    time_s: float
    progress: float
    off_track: int
    crashes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_s": round(self.time_s, 3),
            "progress": round(self.progress, 2),
            "off_track": self.off_track,
            "crashes": self.crashes,
        }


def open_mp4_writer(path: Path, fps: float, size: tuple[int, int]) -> Any:
    """An MP4 writer a browser can play: VP9 in MP4 (Chromium and Firefox play it; OpenCV's
    wheels carry no H.264 encoder), else MPEG-4 part 2, which players outside a browser take."""
    cv2 = require("cv2", extra="runtime")
    for fourcc in ("vp09", "mp4v"):
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if writer.isOpened():
            return writer
        writer.release()
    raise LensboxError(
        f"{path}: this OpenCV cannot write MP4 (no vp09 or mp4v encoder); install opencv-python"
    )


@dataclass
class TrialVideo:
    """Camera view beside a top-down map with the car's trail, streamed to an MP4 beside the
    target and renamed into place when whole."""

    path: Path
    track_map: TrackMap
    fps: float = 15.0
    trail: list[tuple[float, float]] = field(default_factory=list)
    _map: MapView | None = None
    _writer: Any = None

    @property
    def _temp(self) -> Path:
        return self.path.with_name(f".{self.path.stem}.part.mp4")

    def add(self, camera: np.ndarray, front: tuple[float, float], text: str) -> None:
        cv2 = require("cv2", extra="runtime")
        self.trail.append(front)
        view = cv2.resize(camera, (320, 240), interpolation=cv2.INTER_NEAREST)
        view = cv2.cvtColor(view, cv2.COLOR_GRAY2BGR)
        if self._map is None:
            self._map = MapView(self.track_map, 240)
        top = self._map.draw(self.trail)
        frame = np.hstack([view, top])
        cv2.putText(frame, text, (6, 232), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self._writer = open_mp4_writer(self._temp, self.fps, (width, height))
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            os.replace(self._temp, self.path)


def time_trial(
    engine: Any,
    track: Track,
    laps: int = 3,
    off_track_penalty: float = 5.0,
    stop_on_off_track: bool = False,
    n_objects: int = 0,
    video: Path | None = None,
    seed: int = 0,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> dict[str, Any]:
    """Drive ``laps`` laps with ``engine`` (a drive package) and report DeepRacer's figures.
    ``on_frame`` sees every camera frame the policy is fed (INT8 calibrates on them)."""
    rng = np.random.default_rng(seed)
    sim = RaceSim(track, n_objects=n_objects)
    sim.reset(0.0, rng)
    track_map = TrackMap(track)
    camera = Camera(track_map, CameraSpec(), Look(noise=0.0))
    recorder = TrialVideo(video, track_map, 1.0 / sim.limits.dt) if video is not None else None
    space = engine.manifest.task_params.get("action_space", {})
    results: list[Lap] = []
    for number in range(laps):
        if n_objects:
            sim.boxes = sim.place_boxes(rng)  # placed anew each lap
        sim.travelled = 0.0
        start_steps = sim.steps
        penalty, off, crashes = 0.0, 0, 0
        while not sim.lap_complete:
            frame = camera.render(sim.car.front, sim.car.yaw, [b.corners() for b in sim.boxes])
            if on_frame is not None:
                on_frame(frame)
            scores = engine.run(engine.prepare(frame))[0][0]  # the device's preprocessing
            action = decode_action(scores, space)["action"]
            sim.step(action["steering_angle"], action["speed"])
            elapsed = (sim.steps - start_steps) * sim.limits.dt + penalty
            if recorder is not None:
                recorder.add(
                    frame,
                    sim.car.front,
                    f"lap {number + 1}  {elapsed:5.1f}s  {sim.progress:5.1f}%",
                )
            if sim.off_track or sim.crashed:
                off += int(sim.off_track)
                crashes += int(sim.crashed)
                if stop_on_off_track:
                    break
                penalty += off_track_penalty
                sim.recover()
            if elapsed > LAP_TIME_LIMIT:
                break
        time_s = (sim.steps - start_steps) * sim.limits.dt + penalty
        results.append(Lap(time_s, sim.progress, off, crashes))
        if stop_on_off_track and not sim.lap_complete:
            sim.reset(0.0, rng)  # the next lap starts again from the line
    if recorder is not None:
        recorder.close()
    completed = [lap for lap in results if lap.progress >= 100.0]
    return {
        "track": track.name,
        "laps": [lap.to_dict() for lap in results],
        "completed": len(completed),
        "best_lap_s": round(min(lap.time_s for lap in completed), 3) if completed else None,
        "mean_progress": round(float(np.mean([lap.progress for lap in results])), 2),
        "off_track": sum(lap.off_track for lap in results),
        "crashes": sum(lap.crashes for lap in results),
    }
