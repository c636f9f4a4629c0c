"""The Gymnasium environment's episode rules: laps, progress per lap, ended or cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="needs the racer extra")

from lensbox.racer.check import pursue
from lensbox.racer.env import RaceEnv
from lensbox.racer.reward import RewardFunction
from lensbox.racer.track import load_track
from tests.helpers.drive_models import CONTINUOUS
from tests.helpers.tracks import write_track


def drive(env: RaceEnv, steps: int) -> list[tuple[float, bool, bool, dict]]:
    env.reset(options={"start": 0.0})
    out = []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(np.array(pursue(env.sim, 1.5)))
        out.append((reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return out


@pytest.mark.parametrize("continuing", [False, True])
def test_laps_restart_progress_and_the_last_one_ends_or_cuts(
    tmp_path: Path, continuing: bool
) -> None:
    reward_file = tmp_path / "reward.py"
    reward_file.write_text("def reward_function(params):\n    return params['progress'] / 100\n")
    track = load_track(str(write_track(tmp_path / "stadium.npy")))
    env = RaceEnv(
        [track], RewardFunction.load(reward_file), CONTINUOUS, randomize=False, max_laps=2,
        continuing=continuing,
    )  # fmt: skip
    steps = drive(env, 5000)
    laps = [info["laps"] for *_, info in steps]
    first = laps.index(1)
    assert steps[first][0] == pytest.approx(1.0)  # the reward saw progress 100 at the line
    assert steps[first + 1][3]["progress"] < 5  # the next lap's progress counts from 0
    assert not any(t or c for _, t, c, _ in steps[:-1])  # the first lap ends nothing
    _, terminated, truncated, info = steps[-1]
    assert info["laps"] == 2 and info["progress"] == 100.0
    assert (terminated, truncated) == ((False, True) if continuing else (True, False))
