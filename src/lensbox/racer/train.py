"""Train a DeepRacer car that drives from its camera: PPO teacher on state, camera student.

Why two stages: learning from pixels alone needs millions of frames, hours on two cores. So a
teacher first learns under the user's reward on the simulator's privileged state (a short
vector: speed, lane position, the road's bends ahead, the next boxes), with stable-baselines3's
PPO (SAC for a continuous action space) and DeepRacer's hyperparameters. Then a small CNN on the
160x120 camera frames learns to do what the teacher does on the states it reaches itself
(DAgger: the student drives more and more, the teacher labels every frame), with randomised
lighting, textures and camera mounts, on the training track and on random ones. The student is
what ships: ``model.onnx`` maps a camera frame to action scores.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._atomic import atomic_write_with
from lensbox._optional import require
from lensbox.errors import TrainError
from lensbox.racer import features
from lensbox.racer.config import Hyperparameters, ModelMetadata
from lensbox.racer.reward import RewardFunction
from lensbox.racer.track import Track
from lensbox.racer.tracks_random import random_track
from lensbox.train.callbacks import TrainProgress
from lensbox.train.loop import TrainOptions

FRAME = (120, 160)
TEACHER_LAPS = 3  # a teacher's episode: this many laps, then cut (see RaceEnv's continuing)
# PPO's advantage horizon: 1 / (1 - 0.99) = 100 steps, about 7 s at 15 Hz. A box has to be
# dodged 2-3 s before the car reaches it, and with 0.95 (20 steps) the crash that follows a late
# lane change barely reaches the decision that caused it.
GAE_LAMBDA = 0.99
OTHER_SEED = 7919  # the second teacher's seed: the run's seed plus this


@dataclass
class TeacherResult:
    policy: Any  # stable-baselines3 model
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    samples: list[dict[str, float]] = field(default_factory=list)  # for the track maps
    checks: list[dict[str, Any]] = field(default_factory=list)  # see TeacherSnapshots
    laps: list[dict[str, Any]] = field(default_factory=list)  # the kept check's (teacher_laps)


TEACHER_CHECK_SECONDS = 45.0
"""With boxes, a teacher in training drives BOX_LAYOUTS laps this often, and the best of those
moments is the teacher kept (``TeacherSnapshots``).

Why: PPO under the object-avoidance reward does not hold on to what it learned. One teacher
(seed 2, one core, 297 s) finished 3, 12, 12, 12, 12, 9 of 12 laps clean at 47, 93 ... 272 s
and 10 at its end. A check costs about 2 s: the laps are state-only."""


TEACHER_STALL_CHECKS = 2
TEACHER_STALL_LAPS = 1
"""With boxes, a teacher that finishes no more than TEACHER_STALL_LAPS of BOX_LAYOUTS laps
clean at each of its first TEACHER_STALL_CHECKS checks is dropped, and a teacher with another
seed starts in its place, if at least TEACHER_RESTART_SECONDS are left.

Why: a teacher that has passed no box by then has mostly settled on keeping to one lane and
stays there. Of 24 teacher runs checked every 45 s for 300 s on reinvent_base (13 among 6
boxes, 11 among 3), the 8 that ran on after 0 or 1 at both their first two checks (about 46
and 93 s) never reached 10 of 12: six never finished more than 1, two reached 4 and 7. Of the
15 others, 14 reached 11 or 12 and one 6. Dropped this way in two runs (seed 7920, 0 and 0
both times), it was replaced by teachers that finished 7, 10, 12, 10, 12 and 8, 12, 9, 12, 11
at their checks from 140 s."""
TEACHER_RESTART_SECONDS = 120.0  # a good teacher reached 11-12 of 12 by 94-143 s
RESTART_SEED = 104_729  # a restarted teacher's seed: the one it replaces plus this


@dataclass
class TeacherSnapshots:
    """The teacher's weights at its best check so far: the most laps of BOX_LAYOUTS finished
    clean, a tie going to the later (longer-trained) one."""

    track: Track
    reward: RewardFunction
    metadata: ModelMetadata
    n_objects: int
    started: float
    checks: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None  # the best check so far, one of ``checks``
    weights: dict[str, Any] | None = None  # the teacher's weights at ``best``
    laps: list[dict[str, Any]] = field(default_factory=list)  # its laps at ``best``
    due: float = field(init=False)
    since: int = 0  # the first of ``checks`` made of the teacher now learning (see restarted)

    def __post_init__(self) -> None:
        self.due = self.started + TEACHER_CHECK_SECONDS

    def check_when_due(self, model: Any) -> None:
        if time.monotonic() >= self.due:
            self.check(model)
            self.due = time.monotonic() + TEACHER_CHECK_SECONDS

    def check(self, model: Any) -> None:
        laps = teacher_laps(
            model, self.track, self.reward, self.metadata, self.n_objects, BOX_LAYOUTS
        )
        check = {
            "seconds": round(time.monotonic() - self.started, 1),
            "timesteps": int(model.num_timesteps),
            "clean_laps": sum(lap["teacher_lap_s"] is not None for lap in laps),
            "seed": model.seed,  # which teacher: a stalled one is replaced
        }
        self.checks.append(check)
        if self.best is None or check["clean_laps"] >= self.best["clean_laps"]:
            self.best, self.laps = check, laps
            self.weights = copy.deepcopy(model.policy.state_dict())

    @property
    def stalled(self) -> bool:
        """The teacher now learning finished at most TEACHER_STALL_LAPS clean at each of its
        checks, and it has had TEACHER_STALL_CHECKS (see there)."""
        mine = self.checks[self.since :]
        return len(mine) >= TEACHER_STALL_CHECKS and all(
            c["clean_laps"] <= TEACHER_STALL_LAPS for c in mine
        )

    def restarted(self) -> None:
        """A new teacher starts learning: its own checks begin here, and the best so far,
        whoever made it, stays the one to beat."""
        self.since = len(self.checks)

    def restore(self, model: Any) -> None:
        """Put the best check's weights back into ``model`` and mark that check kept."""
        if self.best is None or self.weights is None:
            return
        model.policy.load_state_dict(self.weights)
        self.best["kept"] = True


def make_envs(
    tracks: list[Track],
    reward: RewardFunction,
    metadata: ModelMetadata,
    n_objects: int,
    n_envs: int,
    seed: int,
    gamma: float,
    observation: str = "state",
) -> Any:
    vec_env = require("stable_baselines3.common.vec_env", extra="racer")
    monitor = require("stable_baselines3.common.monitor", extra="racer")
    from lensbox.racer.env import RaceEnv

    def make(rank: int) -> Callable[[], Any]:
        def build() -> Any:
            env = RaceEnv(
                tracks, reward, metadata, n_objects, observation, randomize=True,
                max_laps=TEACHER_LAPS, seed=seed + rank, continuing=True,
            )  # fmt: skip
            return monitor.Monitor(env)

        return build

    envs = vec_env.DummyVecEnv([make(i) for i in range(n_envs)])
    # Rewards scaled by the running spread of discounted returns (observations untouched, so
    # the policy acts on raw states): with DeepRacer's discount of 0.999 and a race that goes
    # on, returns run to thousands and an unscaled critic cannot tell a crash ahead from noise.
    return vec_env.VecNormalize(envs, norm_obs=False, norm_reward=True, gamma=gamma)


TEACHER_BOX_FACTOR = 2
"""A teacher of an object race learns among this many times the race's boxes (no more than
one per 2 m of track); it is checked and judged among the race's own, and the student
learns among them too.

Why: the student learns the teacher's action wherever the student drives, also where it has
let a box come too close, so the teacher must know how to get out of there. Measured by
letting a lane keeper drive at a box in its lane and handing over to the teacher 1.0 m and
0.7 m before it (16 tries each, reinvent_base): four teachers that learned among 6 boxes
crashed 0-2 and 3-6 times; six that learned among 3 crashed 3-8 and 5-13 times. Full 9-minute
runs, evaluation laps crash-free of 9: ``--seed 0`` 8 and ``--seed 3`` 9 with 6 boxes, 1 and
1 with 3."""


def teacher_boxes(n_objects: int, track: Track) -> int:
    """How many boxes a teacher learns among (TEACHER_BOX_FACTOR)."""
    if not n_objects:
        return 0
    room = int((track.length - 3.0) / 2.0)
    return max(n_objects, min(TEACHER_BOX_FACTOR * n_objects, room))


def teacher_algorithm(metadata: ModelMetadata) -> Any:
    """stable-baselines3's PPO for a discrete action space, SAC for a continuous one."""
    sb3 = require("stable_baselines3", extra="racer")
    return sb3.PPO if metadata.discrete else sb3.SAC


def train_teacher(
    track: Track,
    reward: RewardFunction,
    metadata: ModelMetadata,
    hyper: Hyperparameters,
    n_objects: int,
    seconds: float,
    seed: int,
    progress: TrainProgress,
    resumed_from: Path | None = None,
) -> TeacherResult:
    """PPO (discrete) or SAC (continuous) on the state vector, for ``seconds`` of wall time;
    from a saved teacher (``resumed_from``, stable-baselines3's zip) when resuming. With boxes,
    checked as it learns (TeacherSnapshots) and, when it stalls early, replaced by a teacher
    with another seed (TEACHER_STALL_CHECKS)."""
    sb3 = require("stable_baselines3", extra="racer")
    callbacks = require("stable_baselines3.common.callbacks", extra="racer")
    torch = require("torch", extra="train")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: threads cost more than they give
    n_envs = 4
    boxes = teacher_boxes(n_objects, track)

    def build(seed: int) -> Any:
        envs = make_envs([track], reward, metadata, boxes, n_envs, seed, hyper.discount_factor)
        if resumed_from is not None:
            return teacher_algorithm(metadata).load(resumed_from, env=envs, device="cpu")
        if not metadata.discrete:
            return sb3.SAC(
                "MlpPolicy",
                envs,
                learning_rate=hyper.lr,
                batch_size=max(hyper.batch_size, 64),
                gamma=hyper.discount_factor,
                ent_coef="auto",
                train_freq=1,
                gradient_steps=1,
                policy_kwargs={"net_arch": [64, 64]},
                seed=seed,
                device="cpu",
                verbose=0,
            )
        # DeepRacer collects num_episodes_between_training episodes per update; early episodes
        # are short, so a rollout of ~20 episodes is a few thousand steps.
        n_steps = max(64, min(1024, hyper.num_episodes_between_training * 25 // n_envs))
        # A rollout that is a whole number of mini-batches (no truncated last batch).
        unit = hyper.batch_size // math.gcd(hyper.batch_size, n_envs)
        n_steps = -(-n_steps // unit) * unit
        return sb3.PPO(
            "MlpPolicy",
            envs,
            learning_rate=hyper.lr,
            n_steps=n_steps,
            batch_size=min(hyper.batch_size, n_steps * n_envs),
            n_epochs=hyper.num_epochs,
            gamma=hyper.discount_factor,
            ent_coef=hyper.beta_entropy,
            gae_lambda=GAE_LAMBDA,
            policy_kwargs={"net_arch": [64, 64]},
            seed=seed,
            device="cpu",
            verbose=0,
        )

    model = build(seed)
    history: list[dict[str, Any]] = []
    samples: list[dict[str, float]] = []
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    snapshots = TeacherSnapshots(track, reward, metadata, n_objects, started)

    class Clock(callbacks.BaseCallback):  # type: ignore[name-defined]
        """Stops at the deadline, or early with ``stalled`` set; records each finished episode
        for the reward graph."""

        stalled = False

        def _on_step(self) -> bool:
            infos = self.locals.get("infos", [])
            if infos and self.num_timesteps % 7 == 0 and len(samples) < 6000:
                first = infos[0]
                samples.append(
                    {
                        "x": float(first["x"]),
                        "y": float(first["y"]),
                        "reward": float(self.training_env.get_original_reward()[0]),
                        "steering": float(first["steering"]),
                        "speed": float(first["speed"]),
                    }
                )
            for info in infos:
                episode = info.get("episode")
                if episode is not None:
                    laps = int(info.get("laps", 0))
                    history.append(
                        {
                            "stage": "teacher",
                            "episode": len(history) + 1,
                            "reward": round(float(episode["r"]), 4),
                            "steps": int(episode["l"]),
                            "progress": 100.0 if laps else round(float(info["progress"]), 2),
                            "laps": laps,
                            "seconds": round(time.monotonic() - started, 1),
                            "timesteps": earlier_steps + int(self.num_timesteps),
                        }
                    )
            if n_objects:
                snapshots.check_when_due(self.model)
                if (
                    resumed_from is None
                    and snapshots.stalled
                    and deadline - time.monotonic() >= TEACHER_RESTART_SECONDS
                ):
                    self.stalled = True
                    return False  # the loop below starts over with another seed
            done = time.monotonic() - started
            progress.advance(0, progress_percent=round(100 * done / seconds))
            return time.monotonic() < deadline

    progress.stage("teacher (PPO on state)", 1)
    earlier_steps = 0  # of teachers dropped as stalled
    try:
        while True:
            clock = Clock()
            model.learn(
                total_timesteps=10_000_000,
                callback=clock,
                reset_num_timesteps=resumed_from is None,
            )
            if not clock.stalled:
                break
            replacement = int(model.seed) + RESTART_SEED
            progress.message(
                f"teacher seed {model.seed} finished at most {TEACHER_STALL_LAPS} of "
                f"{BOX_LAYOUTS} laps clean at its first {TEACHER_STALL_CHECKS} checks; "
                f"seed {replacement} starts in its place"
            )
            earlier_steps += int(model.num_timesteps)
            model.get_env().close()
            snapshots.restarted()
            model = build(replacement)
    finally:
        # Why: the camera student trains next in this process, once the other teacher's core
        # is free too, and its CNN fits twice as fast on two threads as on one (84 against
        # 186 ms a batch of 128 on this 2-core machine).
        torch.set_num_threads(threads)
    if n_objects:
        snapshots.check(model)  # the end is a moment too
        snapshots.restore(model)
    progress.advance()
    steps = earlier_steps + int(model.num_timesteps)
    return TeacherResult(model, history, steps, samples, snapshots.checks, snapshots.laps)


def _teacher_in_child(
    track: Track,
    reward_path: Path,
    metadata: ModelMetadata,
    hyper: Hyperparameters,
    n_objects: int,
    seconds: float,
    seed: int,
    save_to: Path,
) -> TeacherResult:
    """A second teacher in its own process (the first trains in the caller's): saved to
    ``save_to`` and returned without its policy, which the caller loads from there."""
    from lensbox.train.callbacks import QuietProgress

    teacher = train_teacher(
        track, RewardFunction.load(reward_path), metadata, hyper, n_objects, seconds, seed,
        QuietProgress(),
    )  # fmt: skip
    _save_policy(teacher.policy, str(save_to))
    return replace(teacher, policy=None)


def train_teachers(
    track: Track,
    reward: RewardFunction,
    metadata: ModelMetadata,
    hyper: Hyperparameters,
    n_objects: int,
    seconds: float,
    seed: int,
    progress: TrainProgress,
    scratch: Path,
) -> tuple[TeacherResult, dict[str, Any], list[dict[str, Any]]]:
    """Two teachers at once, one per core (each trains on one), the better kept: with boxes,
    the one that finishes more of BOX_LAYOUTS laps clean, each with its boxes placed anew
    (``teacher_laps``), then the better lap.

    Why: whether PPO finds its way past the boxes in a few minutes depends on its seed (measured
    under AWS's object-avoidance reward: one seed lapped crash-free, another stalled at 45 %
    progress), and a teacher uses one core of two. Returns the kept teacher, its own lap, and
    one line per teacher for the report."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    other = scratch / "teacher-b.zip"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(
            _teacher_in_child, track, reward.path, metadata, hyper, n_objects, seconds,
            seed + OTHER_SEED, other,
        )  # fmt: skip
        first = train_teacher(track, reward, metadata, hyper, n_objects, seconds, seed, progress)
        try:
            second = future.result()
        except Exception as exc:  # the first teacher stands alone; say why
            progress.message(f"the second teacher failed ({type(exc).__name__}: {exc})")
            return first, teacher_lap(first.policy, track, reward, metadata, n_objects), []
    second.policy = teacher_algorithm(metadata).load(other, device="cpu")
    other.unlink(missing_ok=True)
    candidates = []
    layouts = BOX_LAYOUTS if n_objects else 1
    for name, teacher in (("seed", first), (f"seed+{OTHER_SEED}", second)):
        # The kept check's laps are the ones its weights drive (deterministic): not driven again.
        laps = teacher.laps or teacher_laps(
            teacher.policy, track, reward, metadata, n_objects, layouts
        )
        lap = dict(laps[0])  # layout 0: the lap the report and the student are measured against
        if n_objects:
            lap["teacher_clean_laps"] = sum(trial["teacher_lap_s"] is not None for trial in laps)
        candidates.append((name, teacher, lap))

    def rank(item: tuple[str, TeacherResult, dict[str, Any]]) -> tuple[float, float, float]:
        lap = item[2]
        clean = lap.get("teacher_clean_laps", 0)
        return (clean, lap["teacher_progress"], -(lap["teacher_lap_s"] or 1e9))

    name, kept, lap = max(candidates, key=rank)
    lines = [
        {
            "teacher": label,
            "kept": label == name,
            "timesteps": result.steps,
            **trial,
            **({"checks": result.checks} if result.checks else {}),
        }
        for label, result, trial in candidates
    ]
    progress.message(
        "teachers: "
        + "; ".join(f"{r['teacher']} progress {r['teacher_progress']}" for r in lines)
        + f"; kept {name}"
    )
    return kept, lap, lines


BOX_LAYOUTS = 12  # laps, each with its own boxes, that a teacher of an object race is judged on


def teacher_laps(
    policy: Any,
    track: Track,
    reward: RewardFunction,
    metadata: ModelMetadata,
    n_objects: int,
    layouts: int,
) -> list[dict[str, Any]]:
    """The state teacher's laps with the boxes placed by layouts 0, 1, ...; a lap finished
    (``teacher_lap_s`` set) is one without touching a box or leaving the track.

    Why several: a teacher that never learned to change lanes still finishes every lap whose
    boxes all stand in the other lane, and one that dodges well can meet one hard placement:
    of 16 teachers in one experiment (four variants of features and box count), one that
    finished 14 of 20 such laps failed the one lap, and one that finished 12 passed it."""
    return [
        teacher_lap(policy, track, reward, metadata, n_objects, layout) for layout in range(layouts)
    ]


def teacher_lap(
    policy: Any,
    track: Track,
    reward: RewardFunction,
    metadata: ModelMetadata,
    n_objects: int,
    layout: int = 0,
) -> dict[str, Any]:
    """The state teacher's own lap from the start line, in the race it trained for (with its
    boxes, placed by ``layout``: an object-avoidance reward may read them): what the camera
    student's lap is measured against."""
    from lensbox.racer.env import RaceEnv

    env = RaceEnv([track], reward, metadata, n_objects, "state", randomize=False, seed=layout)
    observation, _ = env.reset(options={"start": 0.0})
    done, info = False, {"progress": 0.0, "steps": 0, "lap_complete": False}
    while not done:
        action, _ = policy.predict(observation, deterministic=True)
        observation, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    lap = round(info["steps"] / 15.0, 3) if info["lap_complete"] else None
    return {"teacher_lap_s": lap, "teacher_progress": round(float(info["progress"]), 2)}


def teacher_label(
    teacher: Any, state: np.ndarray, n_outputs: int, discrete: bool, one_hot: bool
) -> tuple[Any, np.ndarray]:
    """The teacher's deterministic action, and what the student learns from it: for a discrete
    action space either the chosen action one-hot (``one_hot``, a race with boxes) or the
    teacher's action probabilities.

    Why both: a PPO teacher's probabilities are flat (over a lap of reinvent_base with boxes, its
    top action has 0.45 on average, 0.16 more than the next), and it drives by the top one. With
    boxes, a student fitted to the probabilities has to get that close ranking right at every
    dodge; one-hot did better on each of three saved teachers (225 s students, crash-free laps
    of 15 after DAgger iterations 3-6): 12, 13, 12, 8 and 9, 5, 9, 8 and 1, 2, 4, 4, against
    4, 5, 11, 7 and 5, 4, 4, 5 and 0, 1, 1, 2 (one student seed each; it still falls short of
    the object-avoidance floor in full runs, see the README).
    Without boxes the probabilities are kept: a centre-line student on one-hot labels still
    lapped reinvent_base 3/3, but left an unseen track (caecer_loop) at 9.7 %, where the
    students on probabilities measured so far drove 100 % of all six unseen tracks."""
    action, _ = teacher.predict(state, deterministic=True)
    if not discrete:
        return action, np.asarray(action, dtype=np.float32)
    if one_hot:
        return action, np.eye(n_outputs, dtype=np.float32)[int(action)]
    torch = require("torch", extra="train")
    with torch.no_grad():
        distribution = teacher.policy.get_distribution(torch.as_tensor(state[None]))
    return action, distribution.distribution.probs[0].numpy().astype(np.float32)


def build_student(n_outputs: int, n_state: int = 0) -> Any:
    """A small CNN: 160x120 grayscale frame -> action scores (logits or a continuous action).

    With ``n_state``, a second head reads the same hidden layer and estimates that many entries
    of the teacher's state (``STATE_TARGETS``); it trains the features only (see AUX_WEIGHT):
    ``forward`` and the exported model give the action scores alone."""
    torch = require("torch", extra="train")
    nn = torch.nn

    class Student(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.AvgPool2d(2),  # 80x60 is plenty for lanes and boxes, and 4x cheaper
                nn.Conv2d(1, 24, 5, stride=2, padding=2),
                nn.ReLU(),
                nn.Conv2d(24, 32, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 48, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(48, 64, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            self.head = nn.Sequential(
                nn.Flatten(), nn.Dropout(0.2), nn.Linear(64 * 4 * 5, 128), nn.ReLU(),
                nn.Linear(128, n_outputs),
            )  # fmt: skip
            self.state_head = nn.Linear(128, n_state) if n_state else None

        def forward(self, x: Any) -> Any:
            return self.head(self.features(x))

        def forward_with_state(self, x: Any) -> tuple[Any, Any]:
            hidden = self.head[:-1](self.features(x))
            assert self.state_head is not None
            return self.head[-1](hidden), self.state_head(hidden)

    return Student()


STATE_TARGETS = slice(4, features.SIZE)
"""The teacher's state entries a single camera frame shows: where the car sits in its lane,
its heading to the road, how the road bends ahead, where the next boxes are (not the speed,
the wheels' angle or the command in flight, which one frame cannot show)."""

AUX_WEIGHT = 1.0
"""With boxes, the student also learns to read ``STATE_TARGETS`` off the frame, weighted this
much against the action loss (mean squared error; the entries lie within about -1..1).
Why: the action labels say only which of a few actions the teacher took, and a box changes
that on few frames, so a student learns late, if at all, where the box is; the state says it
on every frame with a box ahead (the auxiliary targets of "learning by cheating"). On one saved
teacher, 225 s students with four seeds each crashed 73 times in all on their last
iteration's 60 scoring laps against 105 without it (clean laps 13 against 9); weight 4 did
worse on the one seed tried (0 clean, 30 crashes against 0 and 22)."""


EMA_DECAY = 0.995
"""With boxes, the student that drives, is scored and ships is an exponential moving average of
the one being fitted (about the last 200 optimiser steps; a DAgger iteration is 100-400).
Why: one iteration to the next swings widely, and the average swings less. On one saved
teacher, 225 s students drove 0, 0, 6, 0, 1 crash-free laps of 15 after iterations 1-5 (49,
26, 12, 35, 22 crashes) as fitted, and 0, 0, 1, 1, 6 (34, 44, 32, 26, 17 crashes) averaged."""

MIN_STUDENT_ITERATIONS = 3
"""DAgger iterations a student always gets, past its share of --minutes if need be: the teacher
drives all of the first and a third of the third, so with fewer the student has barely driven
itself and meets its own mistakes first in the time trial (a 1.5-minute run on a slow moment
packaged a student that left the track at once)."""

BOX_WEIGHT = 3.0  # a frame with a box ahead counts this many times in the student's loss
BESIDE_WEIGHT = 10.0
"""A frame where the car's front has passed a box's middle that the teacher still sees
(features.BOX_BEHIND) counts this many times in the student's loss.

Why: the camera loses a box as the car's front draws level with it, so the student cannot
tell those frames, where the teacher holds its lane, from frames with no box near, where it
may drift back: students steered back into boxes beside them. Of 43 crashes of three
packages on 18 laps each, 28 came 0.14-0.29 m past a box out of view (all 21 of one
package's). On that package's teacher, 225 s students (one core, 15 laps after each
iteration) drove 13, 15, 14 of 15 clean at iterations 5-7 with this weight against 8, 10, 9
without."""
FIRST_BOX_DISTANCE = features.SIZE - 2 * features.N_BOXES  # the state's entry: distance / range


def state_targets(n_objects: int) -> int:
    """How many state entries the student learns to read (its second head): with boxes only,
    where it was measured; races without boxes train as before."""
    n = STATE_TARGETS.stop - STATE_TARGETS.start
    return n if n_objects else 0


def _frame_weight(state: np.ndarray) -> float:
    """BESIDE_WEIGHT with a box beside the car, BOX_WEIGHT with one ahead, else 1."""
    if state[FIRST_BOX_DISTANCE] < 0.0:  # the front is past its middle
        return BESIDE_WEIGHT
    return BOX_WEIGHT if _box_near(state) else 1.0


def _box_near(state: np.ndarray) -> bool:
    """Whether the teacher's state has a box ahead within its box range (BOX_RANGE, 3 m; the
    entry reads 1.0 when there is none): the frames that decide a crash, which a plain average
    lets the lane-keeping drown."""
    return bool(state[FIRST_BOX_DISTANCE] < 1.0)


def student_input(frames: np.ndarray) -> np.ndarray:
    """(N, 1, 120, 160) uint8 -> float32 in [-1, 1]: the manifest's scale, mean and std."""
    return frames.astype(np.float32) / 127.5 - 1.0


@dataclass
class Demonstrations:
    """Every frame DAgger has collected, whoever drove: the teacher's label for it, the state
    entries the student learns to read from it, and its weight in the loss (``_frame_weight``:
    more with a box ahead, most with one beside)."""

    frames: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    states: list[np.ndarray] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def add(self, frame: np.ndarray, target: np.ndarray, state: np.ndarray) -> None:
        self.frames.append(frame)
        self.targets.append(target)
        self.states.append(state[STATE_TARGETS])
        self.weights.append(_frame_weight(state))

    def __len__(self) -> int:
        return len(self.frames)

    def tensors(self) -> tuple[Any, Any, Any, Any]:
        torch = require("torch", extra="train")
        return (
            torch.from_numpy(np.stack(self.frames)),
            torch.from_numpy(np.stack(self.targets)),
            torch.from_numpy(np.stack(self.states)),
            torch.tensor(self.weights, dtype=torch.float32),
        )


def fit_epoch(
    network: Any, optimizer: Any, ema: Any, data: tuple[Any, Any, Any, Any], discrete: bool
) -> list[float]:
    """One pass over the demonstrations in shuffled batches of 128; the batches' losses.

    The loss per frame: cross-entropy against the teacher's label (squared error for a
    continuous action), plus AUX_WEIGHT times the squared error of the state head's reading
    when the network has one; frames weighted. ``ema`` (an AveragedModel or None) follows
    every step."""
    torch = require("torch", extra="train")
    frames, targets, states, weights = data
    losses = []
    order = torch.randperm(len(frames))
    for offset in range(0, len(order), 128):
        index = order[offset : offset + 128]
        x = torch.from_numpy(student_input(frames[index].numpy()))
        if network.state_head is not None:
            out, read = network.forward_with_state(x)
        else:
            out, read = network(x), None
        if discrete:
            per_frame = -(targets[index] * torch.log_softmax(out, dim=1)).sum(1)
        else:
            per_frame = ((out - targets[index]) ** 2).mean(1)
        if read is not None:
            per_frame = per_frame + AUX_WEIGHT * ((read - states[index]) ** 2).mean(1)
        w = weights[index]
        loss = (w * per_frame).sum() / w.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if ema is not None:
            ema.update_parameters(network)
        losses.append(float(loss.detach()))
    return losses


SELECTION_TRIALS = 3  # time trials of 3 laps each, boxes placed anew every lap
SELECTION_SEED = 1009  # their placements; an evaluation's --seed (0, 1, 2...) places others


@dataclass
class NetworkDriver:
    """The student in training, shaped as the engine ``time_trial`` drives: a selection lap
    is then driven by exactly the evaluation's rules (crashes, put back, lap limit)."""

    network: Any
    metadata: ModelMetadata

    @property
    def manifest(self) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(task_params={"action_space": self.metadata.to_json()})

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return student_input(frame[None, None])

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        torch = require("torch", extra="train")
        with torch.no_grad():
            return [self.network(torch.from_numpy(tensor)).numpy()]


def selection_score(
    network: Any, track: Track, metadata: ModelMetadata, n_objects: int
) -> tuple[int, int]:
    """(clean laps, -faults) over the selection time trials: a lap is clean when it finishes
    without touching a box or leaving the track; faults (crashes and off-tracks) break ties."""
    from lensbox.racer.evaluate import time_trial

    driver = NetworkDriver(network, metadata)
    trials = [
        time_trial(driver, track, laps=3, n_objects=n_objects, seed=SELECTION_SEED + k)
        for k in range(SELECTION_TRIALS)
    ]
    laps = [lap for trial in trials for lap in trial["laps"]]
    faults = [lap["crashes"] + lap["off_track"] for lap in laps]
    clean = sum(lap["progress"] >= 100.0 and f == 0 for lap, f in zip(laps, faults, strict=True))
    return clean, -sum(faults)


@dataclass
class BestIteration:
    """The student's best DAgger iteration so far by its selection laps: the one packaged.

    Why: with boxes, one iteration to the next swings widely. One student (225 s, a teacher
    that finished 11 of 12 selection laps) drove 0, 0, 6, 0, 1 crash-free laps of 15 after
    iterations 1-5 as fitted (0, 0, 1, 1, 6 averaged, see EMA_DECAY), so packaging the last
    one is a lottery. The selection laps tell the good one: 3 of 9 where those 15 laps gave
    6, 0 of 9 where they gave 0."""

    score: tuple[int, int] | None = None
    iteration: int = 0
    weights: dict[str, Any] | None = None

    def offer(self, score: tuple[int, int], iteration: int, network: Any) -> None:
        if self.score is None or score >= self.score:  # a tie goes to the later, better-taught
            self.score, self.iteration = score, iteration
            self.weights = copy.deepcopy(network.state_dict())

    def restore(self, network: Any, history: list[dict[str, Any]]) -> None:
        """Put the kept weights back into ``network`` and mark which iteration they are."""
        if self.weights is None:
            return
        network.load_state_dict(self.weights)
        for row in history:
            if "selection_clean_laps" in row:
                row["kept"] = row["iteration"] == self.iteration


def train_student(
    teacher: Any,
    track: Track,
    reward: RewardFunction,
    metadata: ModelMetadata,
    n_objects: int,
    seconds: float,
    seed: int,
    progress: TrainProgress,
    student: Student,
    after_iteration: Callable[[int, list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """DAgger: collect frames where the (mixed) policy drives, label them with the teacher's
    action, fit the CNN on everything so far; repeat until the time is up. A resumed student
    starts at its next iteration, where it already does most of the driving."""
    torch = require("torch", extra="train")
    from lensbox.racer.env import RaceEnv

    torch.manual_seed(seed + student.first_iteration)
    rng = np.random.default_rng(seed + student.first_iteration)
    n_outputs = len(metadata.actions) if metadata.discrete else 2
    network, optimizer = student.network, student.optimizer
    ema = None
    if n_objects:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY))
    driver = ema.module if ema is not None else network  # what drives, is scored and ships
    driver.eval()
    demonstrations = Demonstrations()
    history: list[dict[str, Any]] = []
    started = time.monotonic()
    deadline = started + seconds
    iteration = student.first_iteration - 1
    random_tracks = [random_track(rng, f"random{i}") for i in range(6)]
    best = BestIteration()
    selection_seconds = 0.0  # the last selection's cost, kept free before the deadline
    progress.stage("camera student (DAgger)", 1)
    while time.monotonic() < deadline - selection_seconds or iteration < MIN_STUDENT_ITERATIONS:
        iteration += 1
        beta = max(0.0, 1.0 - 0.34 * (iteration - 1))  # teacher's share of the driving
        collected = 0
        budget = 2500 if len(demonstrations) or iteration > 1 else 4000
        laps_done, episodes = 0, 0
        while collected < budget:
            pool = [track] if rng.random() < 0.6 else [random_tracks[rng.integers(6)]]
            env = RaceEnv(
                pool, reward, metadata, n_objects, "camera", True, seed=int(rng.integers(1 << 30))
            )
            frame, _ = env.reset()
            done = False
            while not done and collected < budget:
                state = features.state_vector(env.sim)
                action, target = teacher_label(
                    teacher, state, n_outputs, metadata.discrete, one_hot=n_objects > 0
                )
                demonstrations.add(frame, target, state)
                collected += 1
                if rng.random() < beta:
                    act = action
                else:
                    with torch.no_grad():
                        out = driver(torch.from_numpy(student_input(frame[None])))[0].numpy()
                    act = int(out.argmax()) if metadata.discrete else out
                frame, _, terminated, truncated, info = env.step(act)
                done = terminated or truncated
                laps_done += int(info["lap_complete"])
            episodes += 1
        data = demonstrations.tensors()
        network.train()
        losses: list[float] = []
        for _ in range(3):  # epochs over everything collected so far
            losses += fit_epoch(network, optimizer, ema, data, metadata.discrete)
            if (
                time.monotonic() > deadline - selection_seconds
                and iteration >= MIN_STUDENT_ITERATIONS
            ):
                break
        driver.eval()
        row: dict[str, Any] = {
            "stage": "student",
            "iteration": iteration,
            "teacher_share": round(beta, 2),
            "frames": len(demonstrations),
            "episodes": episodes,
            "laps": laps_done,
            "loss": round(float(np.mean(losses)), 5),
        }
        if n_objects and iteration >= MIN_STUDENT_ITERATIONS:
            selecting = time.monotonic()
            score = selection_score(driver, track, metadata, n_objects)
            selection_seconds = time.monotonic() - selecting
            row["selection_clean_laps"] = score[0]
            best.offer(score, iteration, driver)
        row["seconds"] = round(time.monotonic() - started, 1)
        history.append(row)
        progress.message(
            f"student iteration {iteration}: {len(demonstrations)} frames, loss {row['loss']}"
            + (
                f", {row['selection_clean_laps']} clean laps"
                if "selection_clean_laps" in row
                else ""
            )
        )
        after_iteration(iteration, history)
    progress.advance()
    if not history:
        raise TrainError("no time was left for the camera student; pass more --minutes")
    best.restore(network, history)  # with boxes, always the average of one iteration
    if best.score is not None:
        progress.message(f"student: kept iteration {best.iteration} ({best.score[0]} clean laps)")
    return history


@dataclass
class Student:
    """The camera network, its optimiser, and the DAgger iteration it starts at."""

    network: Any
    optimizer: Any
    scheduler: Any  # constant: there only so checkpoints keep the one format every trainer has
    first_iteration: int = 1

    @classmethod
    def new(cls, n_outputs: int, n_state: int = 0) -> Student:
        torch = require("torch", extra="train")
        network = build_student(n_outputs, n_state)
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
        return cls(network, optimizer, scheduler)


@dataclass
class RaceSetup:
    """What a racer trains on, in the shape every trainer's data report has: the track and
    the reward file, fingerprinted together (a changed reward is other training data)."""

    root: Path
    labels: list[str]
    track: Track
    reward: RewardFunction
    metadata: ModelMetadata
    hyper: Hyperparameters
    problems: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def can_train(self) -> bool:
        return True

    def fingerprint(self) -> str:
        """Track, reward, action space and hyperparameters: a checkpoint made under other ones
        is not resumed."""
        import hashlib
        import json

        digest = hashlib.sha256(np.ascontiguousarray(self.track.waypoints).tobytes())
        digest.update(self.reward.sha256.encode())
        settings = {"actions": self.metadata.to_json(), "hyper": self.hyper.model_dump()}
        digest.update(json.dumps(settings, sort_keys=True).encode())
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"track": self.track.name, "reward_sha256": self.reward.sha256}


@dataclass
class RacerOptions(TrainOptions):
    track: str = "reinvent_base"
    direction: str = "counterclockwise"
    objects: int = 0
    minutes: float = 8.0
    teacher_share: float = 0.55  # of the minutes: the rest trains the camera student
    model_metadata: str = ""
    hyperparameters: str = ""

    def recipe(self) -> dict[str, Any]:
        """As every trainer's, less the time budget: resuming with more --minutes trains on."""
        recipe = super().recipe()
        recipe.pop("minutes")
        return recipe


def train_racer(
    reward_path: Path, out: Path, options: RacerOptions, progress: TrainProgress
) -> Any:
    """Teacher, student, ONNX package with a time trial on the training track, report."""
    from lensbox.manifest import InputSpec, OutputSpec
    from lensbox.racer.config import read_hyperparameters, read_model_metadata
    from lensbox.racer.evaluate import time_trial
    from lensbox.racer.report import racer_sections
    from lensbox.racer.track import load_track
    from lensbox.train.callbacks import Checkpointer
    from lensbox.train.loop import resume_from, save_epoch
    from lensbox.train.packaging import package_model

    started = time.perf_counter()
    track = load_track(options.track, options.direction)
    reward = RewardFunction.load(reward_path)
    metadata = read_model_metadata(Path(options.model_metadata) if options.model_metadata else None)
    hyper = read_hyperparameters(Path(options.hyperparameters) if options.hyperparameters else None)
    if options.minutes <= 0:
        raise TrainError(f"--minutes must be above 0, got {options.minutes}")
    labels = (
        [a.label for a in metadata.actions] if metadata.discrete else ["steering_angle", "speed"]
    )
    setup = RaceSetup(Path(track.name), labels, track, reward, metadata, hyper)
    checkpoints = Checkpointer(out / "checkpoints")
    teacher_file = checkpoints.directory / "teacher.zip"
    student = Student.new(len(labels), n_state=state_targets(options.objects))
    fingerprint = setup.fingerprint()
    resumed = resume_from(
        checkpoints, options, fingerprint, student.network, student.optimizer,
        student.scheduler, progress, "the track, reward, action space or hyperparameters",
    )  # fmt: skip
    if resumed.resumed and not teacher_file.is_file():
        raise TrainError(
            f"{teacher_file}: missing beside {checkpoints.last}; rerun without --resume"
        )
    student.first_iteration = resumed.start_epoch
    budget = options.minutes * 60
    teacher_seconds = budget * options.teacher_share
    if resumed.resumed:
        teacher = train_teacher(
            track, reward, metadata, hyper, options.objects, teacher_seconds, options.seed,
            progress, teacher_file,
        )  # fmt: skip
        teacher_trial = teacher_lap(teacher.policy, track, reward, metadata, options.objects)
        teachers: list[dict[str, Any]] = []
    else:
        checkpoints.directory.mkdir(parents=True, exist_ok=True)
        teacher, teacher_trial, teachers = train_teachers(
            track, reward, metadata, hyper, options.objects, teacher_seconds, options.seed,
            progress, checkpoints.directory,
        )  # fmt: skip
    earlier = resumed.history
    teacher_history = earlier_teacher(earlier) + teacher.history
    for number, row in enumerate(teacher_history, start=1):
        row["episode"] = number  # a resumed teacher's episodes follow the earlier ones

    def checkpoint(iteration: int, student_history: list[dict[str, Any]]) -> None:
        if iteration == student.first_iteration:  # the teacher is done learning by now
            atomic_write_with(teacher_file, lambda tmp: _save_policy(teacher.policy, tmp))
        save_epoch(
            checkpoints, options, fingerprint, labels, iteration, student.network,
            student.optimizer, student.scheduler,
            teacher_history + earlier_student(earlier) + student_history,
        )  # fmt: skip

    remaining = budget - (time.perf_counter() - started) - 20  # export and the time trial
    student_history = train_student(
        teacher.policy, track, reward, metadata, options.objects, max(remaining, 30.0),
        options.seed, progress, student, checkpoint,
    )  # fmt: skip
    spec = InputSpec(
        height=FRAME[0], width=FRAME[1], color="gray", scale=1 / 127.5, mean=(1.0, 1.0, 1.0)
    )
    probe_env_frames = np.zeros((4, 1, *FRAME), np.uint8)
    probe = student_input(probe_env_frames + np.arange(4, dtype=np.uint8)[:, None, None, None] * 40)
    history = teacher_history + earlier_student(earlier) + student_history

    def score(engine: Any) -> dict[str, Any]:
        trial = time_trial(engine, track, laps=1, n_objects=options.objects, seed=options.seed)
        return {**trial, "evaluated_on": f"{track.name}, 1 lap", **teacher_trial}

    result = package_model(
        model=student.network.eval(),
        out=out,
        task="drive",
        labels=labels,
        spec=spec,
        outputs=[
            OutputSpec(
                name="actions", kind="logits" if metadata.discrete else "action", decode="action"
            )
        ],
        probe=probe,
        report=setup,
        options=options,
        provenance={
            "track": track.name,
            "direction": options.direction,
            "reward_file": str(reward_path),
            "reward_sha256": reward.sha256,
            "route": (
                "teacher-student: PPO on simulator state under the reward, then a camera CNN "
                "trained by DAgger on the teacher's labels"
            ),
            "teacher_timesteps": teacher.steps,
            "teachers": teachers,
            "resumed": resumed.resumed,
            "hyperparameters": hyper.model_dump(),
        },
        task_params={"action_space": metadata.to_json(), "track": track.name},
        history=history,
        progress=progress,
        started=started,
        score=score,
        report_sections=racer_sections(track, teacher.samples),
    )
    return result


def _save_policy(policy: Any, path: str) -> None:
    with open(path, "wb") as handle:  # a file object: stable-baselines3 adds no suffix to it
        policy.save(handle)


def earlier_teacher(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for h in history if h.get("stage") == "teacher"]


def earlier_student(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for h in history if h.get("stage") == "student"]
