"""Benchmark: the racer. Simulator steps/s (params, and params plus the camera frame), then
``lensbox racer train`` on reinvent_base and ``lensbox racer evaluate`` (3 laps) of the
exported camera policy, for one or more races:

- ``centre``: AWS's "follow the centre line" example reward, the default action space and
  hyperparameters; also the teacher's time to its first completed lap, its own lap beside the
  camera policy's, and (``--unseen``) laps with ``--stop-on-off-track`` on the other tracks in
  ``../shared/data/racer/tracks``;
- ``speed``: steering {-30, -15, -5, 0, 5, 15, 30} x speed {1.5, 3.0} m/s and a reward of
  ``speed ** 2`` while all wheels are on the track, else 1e-3;
- ``objects``: three boxes (``--objects 3``) and AWS's object-avoidance example reward.

Writes ``benchmarks/results/racer.json``.

Usage: ``python benchmarks/racer.py [--minutes 4] [--race centre|speed|objects|all] [--unseen]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SHARED_TRACKS = REPO.parent / "shared" / "data" / "racer" / "tracks"

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

SPEED = """
def reward_function(params):
    if params["all_wheels_on_track"]:
        return float(params["speed"]) ** 2
    return 1e-3
"""

OBJECT_AVOIDANCE = """
import math


def reward_function(params):
    all_wheels_on_track = params["all_wheels_on_track"]
    distance_from_center = params["distance_from_center"]
    track_width = params["track_width"]
    objects_location = params["objects_location"]
    agent_x = params["x"]
    agent_y = params["y"]
    _, next_object_index = params["closest_objects"]
    objects_left_of_center = params["objects_left_of_center"]
    is_left_of_center = params["is_left_of_center"]
    reward = 1e-3
    if all_wheels_on_track and (0.5 * track_width - distance_from_center) >= 0.05:
        reward_lane = 1.0
    else:
        reward_lane = 1e-3
    reward_avoid = 1.0
    next_object_loc = objects_location[next_object_index]
    distance_closest_object = math.sqrt(
        (agent_x - next_object_loc[0]) ** 2 + (agent_y - next_object_loc[1]) ** 2
    )
    is_same_lane = objects_left_of_center[next_object_index] == is_left_of_center
    if is_same_lane:
        if 0.5 <= distance_closest_object < 0.8:
            reward_avoid *= 0.5
        elif 0.3 <= distance_closest_object < 0.5:
            reward_avoid *= 0.2
        elif distance_closest_object < 0.3:
            reward_avoid = 1e-3
    reward += 1.0 * reward_lane + 4.0 * reward_avoid
    return reward
"""

SPEED_ACTIONS = {
    "action_space": [
        {"steering_angle": steering, "speed": speed}
        for steering in (-30, -15, -5, 0, 5, 15, 30)
        for speed in (1.5, 3.0)
    ],
    "action_space_type": "discrete",
}

RACES = {  # name: (reward, model_metadata or None, boxes)
    "centre": (CENTRE_LINE, None, 0),
    "speed": (SPEED, SPEED_ACTIONS, 0),
    "objects": (OBJECT_AVOIDANCE, None, 3),
}


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


def race(name: str, minutes: str, unseen: bool, tmp: Path) -> dict:
    reward_text, actions, boxes = RACES[name]
    reward = tmp / f"{name}.py"
    reward.write_text(reward_text)
    extra = ["--objects", str(boxes)] if boxes else []
    if actions is not None:
        metadata = tmp / f"{name}-model_metadata.json"
        metadata.write_text(json.dumps(actions))
        extra += ["--model-metadata", str(metadata)]
    model = RESULTS / f"racer-{name}"
    start = time.perf_counter()
    summary = lensbox(
        "racer", "train", "--track", "reinvent_base", "--reward", str(reward),
        "--minutes", minutes, "--out", str(model), *extra, "--json",
    )  # fmt: skip
    wall = time.perf_counter() - start
    history = json.loads((model / "history.json").read_text())
    first_lap = next(
        (h for h in history if h.get("stage") == "teacher" and h["progress"] >= 100), None
    )
    boxes_flag = ["--objects", str(boxes)] if boxes else []
    trial = lensbox("racer", "evaluate", str(model), "--laps", "3", *boxes_flag, "--json")
    result = {
        "train_minutes": float(minutes),
        "train_wall_seconds": round(wall, 1),
        "teacher_seconds_to_first_lap": first_lap["seconds"] if first_lap else None,
        "teacher_timesteps_to_first_lap": first_lap["timesteps"] if first_lap else None,
        "teacher_lap_s": summary["metrics"].get("teacher_lap_s"),
        "camera_policy": {
            "completed": trial["completed"],
            "best_lap_s": trial["best_lap_s"],
            "off_track": trial["off_track"],
            "crashes": trial["crashes"],
            "laps_without_crash": sum(1 for lap in trial["laps"] if lap["crashes"] == 0),
            "laps": trial["laps"],
        },
    }
    if unseen and SHARED_TRACKS.is_dir():
        progress = {}
        for track in sorted(SHARED_TRACKS.glob("*.npy")):
            if track.stem == "reinvent_base":
                continue
            run = lensbox(
                "racer", "evaluate", str(model), "--track", str(track), "--laps", "1",
                "--stop-on-off-track", "--json",
            )  # fmt: skip
            progress[track.stem] = run["mean_progress"]
        result["unseen_tracks_progress"] = progress
        result["unseen_mean_progress"] = round(sum(progress.values()) / len(progress), 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="4")
    parser.add_argument("--race", choices=[*RACES, "all"], default="centre")
    parser.add_argument("--unseen", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict = {"benchmark": "racer", "simulator": simulator_rates(), "races": {}}
    names = list(RACES) if args.race == "all" else [args.race]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            result["races"][name] = race(name, args.minutes, args.unseen, Path(tmp))
    (RESULTS / "racer.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
