"""``lensbox racer train`` then ``evaluate`` on a small generated track, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lensbox.manifest import load_package
from tests.helpers import free_port, lensbox, wait_url
from tests.helpers.browser import CHROMIUM, chromium_page
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
        "racer", "train", "--track", str(track), "--reward", str(reward), "--minutes", "1.5",
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
    assert 0 < manifest.metrics["teacher_progress"] <= 100

    video = tmp_path / "trial.mp4"
    trial = lensbox(
        "racer", "evaluate", str(model), "--track", str(track), "--laps", "2",
        "--video", str(video), "--json", timeout=300,
    )  # fmt: skip
    assert trial.returncode == 0, trial.stderr[-3000:]
    result = json.loads(trial.stdout)
    assert set(result) >= {"laps", "completed", "best_lap_s", "mean_progress"}
    assert len(result["laps"]) == 2 and result["mean_progress"] > 25
    assert video.stat().st_size > 10_000

    # On the device: the simulated car is the source, the runtime's actions drive it.
    port, results = free_port(), tmp_path / "results.jsonl"
    device = subprocess.Popen(
        [
            sys.executable, "-m", "lensbox", "run", str(model), "--source", f"sim:{track}",
            "--max-frames", "240", "--port", str(port), "--results", str(results),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_url(f"http://127.0.0.1:{port}/health")
        if CHROMIUM is not None:
            with chromium_page() as page:
                page.goto(f"http://127.0.0.1:{port}/")
                for stream in ("device-stream", "project-stream"):
                    page.wait_for_function(
                        f"document.getElementById('{stream}').naturalWidth > 0", timeout=15000
                    )
                first = page.locator("#project-stream").screenshot()
                time.sleep(1.0)
                assert page.locator("#project-stream").screenshot() != first
        _, stderr = device.communicate(timeout=60)
    finally:
        device.kill()
    assert device.returncode == 0, stderr[-2000:]
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 240 and all("action" in line and "car" in line for line in lines)
    progress = [line["car"]["progress"] for line in lines]
    assert progress[-1] > progress[0] or lines[-1]["car"]["laps"] >= 1
    gaps = np.diff([line["timestamp"] for line in lines])
    assert 10 < 1 / float(np.median(gaps)) < 20  # real time: the camera's 15 frames a second


def test_resume_trains_on_from_the_checkpoint_and_refuses_another_reward(tmp_path: Path) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=3.0, radius=1.5)
    reward = tmp_path / "reward.py"
    reward.write_text(CENTRE_LINE)
    model = tmp_path / "car"
    common = ("racer", "train", "--track", str(track), "--minutes", "0.6", "--out", str(model))
    first = lensbox(*common, "--reward", str(reward), "--json", timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (model / "checkpoints" / "last.pt").is_file()
    assert (model / "checkpoints" / "teacher.zip").is_file()
    before = json.loads((model / "history.json").read_text())

    second = lensbox(*common, "--reward", str(reward), "--resume", "--json", timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    after = json.loads((model / "history.json").read_text())
    teacher = [h for h in after if h["stage"] == "teacher"]
    student = [h["iteration"] for h in after if h["stage"] == "student"]
    assert len(teacher) > len([h for h in before if h["stage"] == "teacher"])
    assert [h["episode"] for h in teacher] == list(range(1, len(teacher) + 1))
    assert teacher[-1]["timesteps"] > max(h["timesteps"] for h in before if h["stage"] == "teacher")
    assert student == sorted(student) and len(set(student)) == len(student) and student[0] == 1
    assert max(student) > max(h["iteration"] for h in before if h["stage"] == "student")
    assert load_package(model).manifest.provenance["resumed"] is True

    other = tmp_path / "other.py"
    other.write_text(CENTRE_LINE.replace("return 1.0", "return 2.0"))
    refused = lensbox(*common, "--reward", str(other), "--resume", timeout=120)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "changed since this checkpoint" in lines[0], refused.stderr
