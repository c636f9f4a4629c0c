"""Benchmark: the racer. Simulator steps/s (params, and params plus the camera frame), then
``lensbox racer train`` on reinvent_base with AWS's centre-line example reward and the defaults:
wall time, the teacher's time to its first completed lap, and the camera policy's lap times
(``lensbox racer evaluate``, 3 laps) beside the state teacher's lap on the same track.
Writes ``benchmarks/results/racer.json``.

Usage: ``python benchmarks/racer.py [MINUTES]`` (default 4).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

CENTRE_LINE = """
def reward_function(params):
    track_width = params["track_width"]
    distance_from_center = params["distance_from_center"]
    if distance_from_center <= 0.1 * track_width:
        return 1.0
    if distance_from_center <= 0.25 * track_width:
        return 0.5
    if distance_from_center <= 0.5 * track_width:
        return 0.1
    return 1e-3
"""


def simulator_rates(steps: int = 20_000) -> dict[str, float]:
    from lensbox.racer.camera import Camera, CameraSpec, Look, TrackMap
    from lensbox.racer.check import pursue
    from lensbox.racer.sim import RaceSim
    from lensbox.racer.track import load_track

    track = load_track("reinvent_base")
    sim = RaceSim(track)
    start = time.perf_counter()
    for _ in range(steps):
        sim.step(*pursue(sim, 1.5))
        if sim.lap_complete:
            sim.reset(0.0)
    params_rate = steps / (time.perf_counter() - start)
    camera = Camera(TrackMap(track), CameraSpec(), Look())
    start = time.perf_counter()
    for _ in range(steps // 4):
        sim.step(*pursue(sim, 1.5))
        camera.render(sim.car.front, sim.car.yaw)
        if sim.lap_complete:
            sim.reset(0.0)
    return {
        "steps_per_second_with_params": round(params_rate),
        "steps_per_second_with_camera": round(steps / 4 / (time.perf_counter() - start)),
    }


def lensbox(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "lensbox", *args], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout)


def main() -> int:
    minutes = sys.argv[1] if len(sys.argv) > 1 else "4"
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict = {"benchmark": "racer", "simulator": simulator_rates()}
    with tempfile.TemporaryDirectory() as tmp:
        reward = Path(tmp) / "centre_line.py"
        reward.write_text(CENTRE_LINE)
        model = RESULTS / "racer-reinvent"
        start = time.perf_counter()
        summary = lensbox(
            "racer", "train", "--track", "reinvent_base", "--reward", str(reward),
            "--minutes", minutes, "--out", str(model), "--json",
        )  # fmt: skip
        wall = time.perf_counter() - start
    history = json.loads((model / "history.json").read_text())
    first_lap = next(
        (h for h in history if h.get("stage") == "teacher" and h["progress"] >= 100), None
    )
    trial = lensbox("racer", "evaluate", str(model), "--laps", "3", "--json")
    result.update(
        {
            "train_minutes": float(minutes),
            "train_wall_seconds": round(wall, 1),
            "teacher_seconds_to_first_lap": first_lap["seconds"] if first_lap else None,
            "teacher_timesteps_to_first_lap": first_lap["timesteps"] if first_lap else None,
            "teacher_lap_s": summary["metrics"].get("teacher_lap_s"),
            "camera_policy": {
                "completed": trial["completed"],
                "best_lap_s": trial["best_lap_s"],
                "off_track": trial["off_track"],
                "laps": trial["laps"],
            },
        }
    )
    (RESULTS / "racer.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
