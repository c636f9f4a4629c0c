"""How a teacher of an object race is judged: on laps with the boxes placed anew."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="needs the racer extra")

from lensbox.racer.check import pursue
from lensbox.racer.env import RaceEnv
from lensbox.racer.reward import RewardFunction
from lensbox.racer.track import Track, load_track
from lensbox.racer.train import BOX_LAYOUTS, teacher_laps
from tests.helpers.drive_models import CONTINUOUS
from tests.helpers.tracks import write_track


@pytest.fixture
def track(tmp_path: Path) -> Track:
    return load_track(str(write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)))


@pytest.fixture
def reward(tmp_path: Path) -> RewardFunction:
    path = tmp_path / "reward.py"
    path.write_text("def reward_function(params):\n    return 1.0\n")
    return RewardFunction.load(path)


def test_a_teacher_is_judged_on_laps_with_boxes_placed_anew(
    track: Track, reward: RewardFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy that keeps to the right lane and never dodges finishes exactly the laps whose
    boxes all stand in the left lane: what one lap with one placement could not tell."""
    driving: dict[str, RaceEnv] = {}
    reset = RaceEnv.reset

    def remember(self: RaceEnv, **kwargs: Any) -> Any:
        driving["env"] = self
        return reset(self, **kwargs)

    monkeypatch.setattr(RaceEnv, "reset", remember)

    class RightLaneKeeper:
        def predict(self, observation: np.ndarray, deterministic: bool) -> tuple[Any, None]:
            sim = driving["env"].sim
            return np.array(pursue(sim, 0.8, offset=-0.25 * sim.track.width)), None

    all_left = 0
    for layout in range(BOX_LAYOUTS):
        env = RaceEnv([track], reward, CONTINUOUS, 2, "state", randomize=False, seed=layout)
        env.reset(options={"start": 0.0})
        all_left += all(box.left for box in env.sim.boxes)
    assert 0 < all_left < BOX_LAYOUTS  # the placements differ, so the count can tell
    laps = teacher_laps(RightLaneKeeper(), track, reward, CONTINUOUS, 2, BOX_LAYOUTS)
    assert sum(lap["teacher_lap_s"] is not None for lap in laps) == all_left
