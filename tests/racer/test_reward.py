"""Reward functions written for AWS DeepRacer run unchanged; broken ones get one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lensbox.errors import RewardError
from lensbox.racer.reward import RewardFunction
from tests.helpers import cli_in_process, lensbox
from tests.helpers.tracks import write_track

# Written the way AWS's examples and the community's functions are: every key they read.
WAYPOINTS_AND_HEADING = """
import math

def reward_function(params):
    waypoints = params["waypoints"]
    closest_waypoints = params["closest_waypoints"]
    heading = params["heading"]
    reward = 1.0
    next_point = waypoints[closest_waypoints[1]]
    prev_point = waypoints[closest_waypoints[0]]
    track_direction = math.degrees(
        math.atan2(next_point[1] - prev_point[1], next_point[0] - prev_point[0])
    )
    direction_diff = abs(track_direction - heading)
    if direction_diff > 180:
        direction_diff = 360 - direction_diff
    if direction_diff > 10.0:
        reward *= 0.5
    if not params["all_wheels_on_track"] or params["is_offtrack"]:
        reward = 1e-3
    reward += params["progress"] / 100 * (params["speed"] / 4) - abs(params["steering_angle"]) / 300
    if params["is_left_of_center"] and params["distance_from_center"] > 0.4 * params["track_width"]:
        reward *= 0.8
    return float(reward) + params["steps"] * 0 + params["track_length"] * 0 + params["x"] * 0
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
    next_object_loc = objects_location[next_object_index]
    distance_closest_object = math.sqrt(
        (agent_x - next_object_loc[0]) ** 2 + (agent_y - next_object_loc[1]) ** 2
    )
    is_same_lane = objects_left_of_center[next_object_index] == is_left_of_center
    if is_same_lane:
        if 0.5 <= distance_closest_object < 0.8:
            reward_avoid = 0.5
        elif 0.3 <= distance_closest_object < 0.5:
            reward_avoid = 0.2
        elif distance_closest_object < 0.3:
            reward_avoid = 1e-3
        else:
            reward_avoid = 1.0
    else:
        reward_avoid = 1.0
    reward += 1.0 * reward_lane + 4.0 * reward_avoid
    if params["is_crashed"]:
        reward = 1e-3
    return reward
"""

BROKEN = {
    "keyerror": ("def reward_function(params):\n    return params['wheels']\n", 2, "KeyError"),
    "none": ("def reward_function(params):\n    reward = 1.0\n", None, "returned NoneType"),
    "typeerror": (
        "def reward_function(params):\n    x = 1\n    return params['speed'] + 'fast'\n",
        3,
        "TypeError",
    ),
    "syntax": ("def reward_function(params)\n    return 1.0\n", 1, "syntax error"),
}


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_community_reward_functions_run_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    track = write_track(tmp_path / "t.npy")
    for name, source, objects in (
        ("waypoints", WAYPOINTS_AND_HEADING, "0"),
        ("avoid", OBJECT_AVOIDANCE, "2"),
    ):
        path = _write(tmp_path, name, source)
        code, out, err = cli_in_process(
            capsys, "racer", "check-reward", str(path), "--track", str(track), "--objects",
            objects, "--json",
        )  # fmt: skip
        assert code == 0, err
        report = json.loads(out)
        assert report["ok"] and report["lap_complete"]
        assert report["on_track"]["n"] > 100 and report["off_track"]["n"] >= 1
        assert report["off_track"]["max"] <= report["on_track"]["max"]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_reward_gets_one_line_with_file_and_line(tmp_path: Path, case: str) -> None:
    source, line, what = BROKEN[case]
    path = _write(tmp_path, case, source)
    proc = lensbox(
        "racer", "check-reward", str(path), "--track", str(write_track(tmp_path / "t.npy"))
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: {path}") and what in lines[0]
    if line is not None:
        assert lines[0].startswith(f"error: {path}:{line}:")
    if case != "syntax":
        assert "at step 1" in lines[0]


def test_the_function_cannot_change_the_simulators_params(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "mutating", "def reward_function(params):\n    params['x'] = 99\n    return 1\n"
    )
    function = RewardFunction.load(path)
    params = {"x": 1.0, "steps": 3}
    assert function(params) == 1.0 and params["x"] == 1.0
    with pytest.raises(RewardError, match="defines no reward_function"):
        RewardFunction.load(_write(tmp_path, "empty", "x = 1\n"))


def test_racer_commands_refuse_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], colour_model: Path
) -> None:
    track = str(write_track(tmp_path / "t.npy"))
    bad_track = tmp_path / "bad.npy"
    bad_track.write_bytes(b"not numpy")
    for args in (
        ["check-reward", str(tmp_path / "missing.py"), "--track", track],
        ["check-reward", str(_write(tmp_path, "ok", "def reward_function(p):\n    return 1\n")),
         "--track", str(bad_track)],
        ["train", "--reward", str(tmp_path / "missing.py"), "--track", track,
         "--out", str(tmp_path / "m")],
        ["evaluate", str(tmp_path / "no-model"), "--track", track],
        ["evaluate", str(colour_model), "--track", track],
        ["league", "submit", str(colour_model), "--track", track, "--league", str(tmp_path)],
    ):  # fmt: skip
        code, _, err = cli_in_process(capsys, "racer", *args)
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), (args, err)
        assert "Traceback" not in err
