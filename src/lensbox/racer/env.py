"""The race as a Gymnasium environment: the user's reward, DeepRacer's episode rules.

An episode starts somewhere along the track (DeepRacer spreads starts round the lap), a little
off the line, standing still; it ends when the car leaves the track, hits a box, completes its
laps or drives the wrong way, or is cut at a step limit. ``progress`` starts again from 0 on
each new lap, as in a DeepRacer evaluation.

``continuing`` (what the teacher trains on) cuts the episode after its laps instead of ending
it: learning then values the state as if the race went on. With an episode that *ends* at the
line, every per-step reward pays for taking longer (a ``speed ** 2`` reward is earned most by
weaving slowly round); with a race that goes on, the reward per second is what counts, and the
fast, clean lap earns most. The reward is the user's
``reward_function`` on the params after each step; its errors stop training with file, line and
step. Observations are the teacher's state vector (``state``) or the 160x120 camera frame
(``camera``), with the camera's look and mount randomised per episode when asked.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lensbox._optional import require
from lensbox.racer import features
from lensbox.racer.camera import Camera, CameraSpec, Look, TrackMap
from lensbox.racer.config import ModelMetadata
from lensbox.racer.reward import RewardFunction
from lensbox.racer.sim import RaceSim
from lensbox.racer.track import Track

gym = require("gymnasium", extra="racer")


class RaceEnv(gym.Env):  # type: ignore[name-defined]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        tracks: list[Track],
        reward: RewardFunction,
        metadata: ModelMetadata,
        n_objects: int = 0,
        observation: str = "state",
        randomize: bool = True,
        max_laps: int = 1,
        seed: int | None = None,
        continuing: bool = False,
    ) -> None:
        super().__init__()
        self.tracks = tracks
        self.sims = [RaceSim(track, n_objects=n_objects) for track in tracks]
        self.sim = self.sims[0]
        self.reward_fn = reward
        self.model_metadata = metadata
        self.observation_kind = observation
        self.randomize = randomize
        self.max_laps = max_laps
        self.continuing = continuing
        self.laps = 0
        self.rng = np.random.default_rng(seed)
        self._maps: dict[int, TrackMap] = {}
        self.camera: Camera | None = None
        spaces = gym.spaces
        if metadata.discrete:
            self.action_space = spaces.Discrete(len(metadata.actions))
        else:
            space = metadata.action_space
            self.action_space = spaces.Box(
                low=np.array([space.steering_angle.low, space.speed.low], np.float32),  # type: ignore[union-attr]
                high=np.array([space.steering_angle.high, space.speed.high], np.float32),  # type: ignore[union-attr]
            )
        if observation == "camera":
            self.observation_space = spaces.Box(0, 255, (1, 120, 160), np.uint8)
        else:
            self.observation_space = spaces.Box(-3.0, 3.0, (features.SIZE,), np.float32)
        self.episode_reward = 0.0

    def command(self, action: Any) -> tuple[float, float]:
        """The (steering, speed) an action of this space stands for."""
        if self.model_metadata.discrete:
            chosen = self.model_metadata.actions[int(action)]
            return chosen.steering_angle, chosen.speed
        steering, speed = np.asarray(action, dtype=np.float64).reshape(2)
        return float(steering), float(speed)

    def _observe(self) -> np.ndarray:
        if self.observation_kind != "camera":
            return features.state_vector(self.sim)
        assert self.camera is not None
        frame = self.camera.render(
            self.sim.car.front, self.sim.car.yaw, [b.corners() for b in self.sim.boxes]
        )
        return frame[None]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        options = options or {}
        index = int(options.get("track", self.rng.integers(len(self.sims))))
        self.sim = self.sims[index]
        track = self.sim.track
        start = float(options.get("start", self.rng.uniform(0, track.length)))
        offset = float(self.rng.uniform(-0.1, 0.1) * track.width) if self.randomize else 0.0
        self.sim.reset(start, self.rng, offset=offset)
        if self.observation_kind == "camera":
            if index not in self._maps:
                self._maps[index] = TrackMap(track)
            spec, look = CameraSpec(), Look()
            if self.randomize:
                spec, look = spec.jittered(self.rng), Look.random(self.rng)
            self.camera = Camera(self._maps[index], spec, look)
            self.camera.rng = self.rng
        self.episode_reward = 0.0
        self.laps = 0
        return self._observe(), {"track": track.name, "start": start}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        steering, speed = self.command(action)
        params = self.sim.step(steering, speed)
        reward = self.reward_fn(params)
        self.episode_reward += reward
        sim = self.sim
        done = sim.off_track or sim.crashed or sim.reversed_driving
        info_progress = sim.progress
        if sim.lap_complete:
            self.laps += 1
            if self.laps < self.max_laps:
                sim.travelled -= sim.track.length  # the next lap's progress counts from 0
        finished = self.laps >= self.max_laps
        limit = int(6 * self.max_laps * sim.track.length / 0.5 / sim.limits.dt)
        out_of_time = sim.steps >= limit and not (done or finished)
        info = {
            "progress": info_progress,  # as the reward saw it: 100 at the line
            "laps": self.laps,
            "off_track": sim.off_track,
            "crashed": sim.crashed,
            "lap_complete": sim.lap_complete,
            "steps": sim.steps,
            "x": params["x"],
            "y": params["y"],
            "steering": steering,
            "speed": speed,
        }
        if self.continuing:  # the race goes on past the last lap: cut, not ended
            return self._observe(), reward, bool(done), bool(finished or out_of_time), info
        return self._observe(), reward, bool(done or finished), bool(out_of_time), info
