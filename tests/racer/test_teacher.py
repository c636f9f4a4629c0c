"""How a teacher of an object race is judged: on laps with the boxes placed anew."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="needs the racer extra")

from lensbox.racer.check import pursue
from lensbox.racer.env import RaceEnv
from lensbox.racer.reward import RewardFunction
from lensbox.racer.track import Track, load_track
from lensbox.racer.train import BOX_LAYOUTS, TEACHER_STALL_LAPS, TeacherSnapshots, teacher_laps
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


@pytest.fixture
def driving(monkeypatch: pytest.MonkeyPatch) -> dict[str, RaceEnv]:
    """The environment of the lap being driven, for scripted drivers that read its simulator."""
    seen: dict[str, RaceEnv] = {}
    reset = RaceEnv.reset

    def remember(self: RaceEnv, **kwargs: Any) -> Any:
        seen["env"] = self
        return reset(self, **kwargs)

    monkeypatch.setattr(RaceEnv, "reset", remember)
    return seen


def lane_action(sim: Any, lane: float) -> tuple[Any, None]:
    """A scripted driver's action: keep to the left lane (lane > 0) or the right (< 0), or
    with 0 circle off the track; shaped as a policy's ``predict`` answers."""
    if lane == 0.0:
        return np.array([30.0, 1.0]), None
    return np.array(pursue(sim, 0.8, offset=0.25 * np.sign(lane) * sim.track.width)), None


def test_a_teacher_is_judged_on_laps_with_boxes_placed_anew(
    track: Track, reward: RewardFunction, driving: dict[str, RaceEnv]
) -> None:
    """A policy that keeps to the right lane and never dodges finishes exactly the laps whose
    boxes all stand in the left lane: what one lap with one placement could not tell."""

    class RightLaneKeeper:
        def predict(self, observation: np.ndarray, deterministic: bool) -> tuple[Any, None]:
            return lane_action(driving["env"].sim, -1.0)

    all_left = 0
    for layout in range(BOX_LAYOUTS):
        env = RaceEnv([track], reward, CONTINUOUS, 2, "state", randomize=False, seed=layout)
        env.reset(options={"start": 0.0})
        all_left += all(box.left for box in env.sim.boxes)
    assert 0 < all_left < BOX_LAYOUTS  # the placements differ, so the count can tell
    laps = teacher_laps(RightLaneKeeper(), track, reward, CONTINUOUS, 2, BOX_LAYOUTS)
    assert sum(lap["teacher_lap_s"] is not None for lap in laps) == all_left


def test_the_teacher_kept_is_its_best_check_and_a_tie_goes_to_the_later_one(
    track: Track, reward: RewardFunction, driving: dict[str, RaceEnv]
) -> None:
    """A teacher whose driving changes between checks (right lane, circling off the track,
    left lane) is put back to the weights of the check that finished the most laps clean."""
    torch = pytest.importorskip("torch", reason="needs the train extra")

    class LaneKeeper:  # its one weight's sign says the lane: - right, + left, 0 circles off
        def __init__(self) -> None:
            self.policy = torch.nn.Linear(1, 1, bias=False)
            self.num_timesteps = 0
            self.seed = 0

        def predict(self, observation: np.ndarray, deterministic: bool) -> tuple[Any, None]:
            side = float(self.policy.weight.detach().item())
            return lane_action(driving["env"].sim, side)

    model = LaneKeeper()
    snapshots = TeacherSnapshots(track, reward, CONTINUOUS, 2, time.monotonic())
    sides = (-1.0, 0.0, 1.0, 0.0, 2.0)  # the left lane twice: a tie
    for side in sides:
        torch.nn.init.constant_(model.policy.weight, side)
        model.num_timesteps += 100
        snapshots.check(model)
    clean = [check["clean_laps"] for check in snapshots.checks]
    assert clean[1] == clean[3] == 0 and clean[0] != clean[2] == clean[4]
    best = max(range(len(sides)), key=lambda k: (clean[k], k))
    torch.nn.init.constant_(model.policy.weight, 5.0)
    snapshots.restore(model)
    assert float(model.policy.weight.detach()) == sides[best]
    assert [check.get("kept", False) for check in snapshots.checks] == [
        k == best for k in range(len(sides))
    ]
    assert [check["timesteps"] for check in snapshots.checks] == [100, 200, 300, 400, 500]


def test_a_teacher_stalls_when_its_first_two_checks_finish_next_to_no_lap_clean(
    track: Track, reward: RewardFunction, driving: dict[str, RaceEnv]
) -> None:
    """Only a teacher's first checks decide: one that once finished more than
    TEACHER_STALL_LAPS clean is never stalled, and a replacement is judged on its own checks."""

    class Driver:
        seed, num_timesteps = 0, 0

        def __init__(self, lane: float) -> None:  # 0 circles off the track
            self.lane = lane
            self.policy = SimpleNamespace(state_dict=dict)  # weights: none to keep

        def predict(self, observation: np.ndarray, deterministic: bool) -> tuple[Any, None]:
            return lane_action(driving["env"].sim, self.lane)

    snapshots = TeacherSnapshots(track, reward, CONTINUOUS, 2, time.monotonic())
    snapshots.check(Driver(0.0))
    assert not snapshots.stalled  # one check is not enough to tell
    snapshots.check(Driver(0.0))
    assert snapshots.stalled
    snapshots.restarted()
    assert not snapshots.stalled
    snapshots.check(Driver(1.0))
    assert snapshots.checks[-1]["clean_laps"] > TEACHER_STALL_LAPS
    snapshots.check(Driver(0.0))
    snapshots.check(Driver(0.0))
    assert not snapshots.stalled


def test_a_stalled_teacher_is_replaced_by_one_with_another_seed(
    track: Track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real PPO, checks every second: a teacher that has passed no box after two checks gives
    way to a new one with another seed while 3 s are left, and only then."""
    pytest.importorskip("stable_baselines3", reason="needs the racer extra")
    from lensbox.racer import train
    from lensbox.racer.config import Hyperparameters, ModelMetadata
    from lensbox.train.callbacks import QuietProgress

    monkeypatch.setattr(train, "TEACHER_CHECK_SECONDS", 1.0)
    monkeypatch.setattr(train, "TEACHER_RESTART_SECONDS", 3.0)
    nothing = tmp_path / "nothing.py"  # a reward of 0 teaches nothing: every teacher stalls
    nothing.write_text("def reward_function(params):\n    return 0.0\n")
    seconds = 8.0
    result = train.train_teacher(
        track, RewardFunction.load(nothing), ModelMetadata(), Hyperparameters(), 2, seconds, 5,
        QuietProgress(),
    )  # fmt: skip
    assert all(c["clean_laps"] == 0 for c in result.checks)
    teachers: dict[int, list[float]] = {}  # each teacher's checks' times, in the order made
    for check in result.checks:
        teachers.setdefault(check["seed"], []).append(check["seconds"])
    assert list(teachers) == [5 + k * train.RESTART_SEED for k in range(len(teachers))]
    assert len(teachers) >= 2  # the first stalls by about 3 s, with some 5 s left
    *replaced, last = teachers.values()
    slack = 0.2  # the times are rounded and taken as each check ends
    assert all(len(times) == 2 and times[1] <= seconds - 3.0 + slack for times in replaced)
    assert len(last) < 2 or last[1] > seconds - 3.0 - slack  # stalled too late to replace
    assert result.policy.seed == 5 + (len(teachers) - 1) * train.RESTART_SEED
    steps = [row["timesteps"] for row in result.history]
    assert steps == sorted(steps) and result.steps >= steps[-1]
    assert steps[-1] > max(c["timesteps"] for c in result.checks)  # counted across teachers


def test_a_teacher_of_an_object_race_is_checked_while_it_trains(
    track: Track, reward: RewardFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real PPO for a few seconds: checks happen during learning and at its end, one is kept,
    and the teacher handed back drives as that check did."""
    pytest.importorskip("stable_baselines3", reason="needs the racer extra")
    from lensbox.racer import train
    from lensbox.racer.config import Hyperparameters, ModelMetadata
    from lensbox.train.callbacks import QuietProgress

    monkeypatch.setattr(train, "TEACHER_CHECK_SECONDS", 1.5)
    learned_among: list[int] = []
    make_envs = train.make_envs

    def recorded(tracks: Any, reward: Any, metadata: Any, n_objects: int, *rest: Any) -> Any:
        learned_among.append(n_objects)
        return make_envs(tracks, reward, metadata, n_objects, *rest)

    monkeypatch.setattr(train, "make_envs", recorded)
    metadata = ModelMetadata()
    result = train.train_teacher(
        track, reward, metadata, Hyperparameters(), 2, 6.0, 0, QuietProgress()
    )
    checks = result.checks
    assert learned_among == [train.teacher_boxes(2, track)] == [4]  # twice the race's boxes
    assert len(checks) >= 3
    assert [c["timesteps"] for c in checks] == sorted(c["timesteps"] for c in checks)
    kept = [c for c in checks if c.get("kept")]
    assert len(kept) == 1 and kept[0]["clean_laps"] == max(c["clean_laps"] for c in checks)
    laps = teacher_laps(result.policy, track, reward, metadata, 2, BOX_LAYOUTS)
    assert sum(lap["teacher_lap_s"] is not None for lap in laps) == kept[0]["clean_laps"]
    assert result.laps == laps  # the kept check's laps: what the run judges teachers on


def test_a_teacher_learns_among_twice_the_boxes_where_the_track_has_room(
    track: Track, tmp_path: Path
) -> None:
    from lensbox.racer.train import teacher_boxes

    short = load_track(str(write_track(tmp_path / "short.npy", straight=1.0, radius=0.8)))
    assert teacher_boxes(0, track) == 0  # a race without boxes stays without
    assert teacher_boxes(2, track) == 4
    assert short.length < 7.1  # room for 2 boxes at one per 2 m: never fewer than the race's
    assert teacher_boxes(3, short) == 3
