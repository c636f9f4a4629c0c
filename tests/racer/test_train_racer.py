"""``lensbox racer train`` then ``evaluate`` on a small generated track, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lensbox.manifest import load_package
from tests.helpers import lensbox
from tests.helpers.tracks import write_track

pytestmark = pytest.mark.slow  # a minute of reinforcement learning and imitation

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


def test_a_camera_policy_trains_drives_and_reports(tmp_path: Path) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=3.0, radius=1.5)
    reward = tmp_path / "reward.py"
    reward.write_text(CENTRE_LINE)
    model = tmp_path / "car"
    proc = lensbox(
        "racer", "train", "--track", str(track), "--reward", str(reward), "--minutes", "1.2",
        "--out", str(model), "--json", timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["task"] == "drive" and summary["parity_max_abs_diff"] < 1e-4
    manifest = load_package(model).manifest
    assert manifest.task == "drive" and manifest.input.color == "gray"
    assert (manifest.input.height, manifest.input.width) == (120, 160)
    assert len(manifest.task_params["action_space"]["action_space"]) == len(manifest.labels)
    assert "teacher-student" in manifest.provenance["route"]
    assert len(manifest.provenance["reward_sha256"]) == 64
    report = (model / "report.html").read_text()
    assert "Reward graph" in report and "Track map" in report and "Time trial" in report
    history = json.loads((model / "history.json").read_text())
    teacher = [h for h in history if h["stage"] == "teacher"]
    assert max(h["progress"] for h in teacher) == 100.0  # the teacher learned to lap

    video = tmp_path / "trial.mp4"
    trial = lensbox(
        "racer", "evaluate", str(model), "--track", str(track), "--laps", "2",
        "--video", str(video), "--json", timeout=300,
    )  # fmt: skip
    assert trial.returncode == 0, trial.stderr[-3000:]
    result = json.loads(trial.stdout)
    assert set(result) >= {"laps", "completed", "best_lap_s", "mean_progress"}
    assert len(result["laps"]) == 2 and result["mean_progress"] > 50
    assert video.stat().st_size > 10_000
