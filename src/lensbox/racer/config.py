"""DeepRacer's two training files, read as DeepRacer writes them.

``model_metadata.json`` names the action space (a list of ``{"steering_angle", "speed"}``
actions, or continuous ranges), its type, the sensor and the algorithm; ``hyperparameters``
uses DeepRacer's keys with DeepRacer's defaults. A file that is not valid gets one line naming
the file and what to fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lensbox.errors import DataError
from lensbox.manifest import first_problem

MAX_STEERING = 30.0
SPEED_RANGE = (0.1, 4.0)


class Action(BaseModel):
    model_config = ConfigDict(extra="ignore")

    steering_angle: float = Field(ge=-MAX_STEERING, le=MAX_STEERING)
    speed: float = Field(ge=SPEED_RANGE[0], le=SPEED_RANGE[1])

    @property
    def label(self) -> str:
        return f"steer {self.steering_angle:+g} deg, {self.speed:g} m/s"


class Range(BaseModel):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class ContinuousSpace(BaseModel):
    steering_angle: Range
    speed: Range


class ModelMetadata(BaseModel):
    """``model_metadata.json``, with DeepRacer's defaults for what is left out: the default
    action space of AWS's developer guide (steering -30, -15, 0, 15, 30 degrees x 0.4 and
    0.8 m/s; maximum steering 30, granularity 5, maximum speed 0.8, granularity 2)."""

    model_config = ConfigDict(extra="ignore")

    action_space: list[Action] | ContinuousSpace = Field(
        default_factory=lambda: [
            Action(steering_angle=steering, speed=speed)
            for steering in (-30.0, -15.0, 0.0, 15.0, 30.0)
            for speed in (0.4, 0.8)
        ]
    )
    action_space_type: Literal["discrete", "continuous"] | None = None
    sensor: list[str] = Field(default_factory=lambda: ["FRONT_FACING_CAMERA"])
    neural_network: str = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
    training_algorithm: Literal["clipped_ppo", "sac"] | None = None
    version: str = "5"

    @model_validator(mode="after")
    def _consistent(self) -> ModelMetadata:
        kind: Literal["discrete", "continuous"] = (
            "continuous" if isinstance(self.action_space, ContinuousSpace) else "discrete"
        )
        if self.action_space_type is None:
            self.action_space_type = kind
        if self.action_space_type != kind:
            raise ValueError(
                f"action_space_type is {self.action_space_type} but the space is {kind}"
            )
        if kind == "discrete" and not self.action_space:
            raise ValueError("the discrete action space is empty")
        if self.training_algorithm is None:
            self.training_algorithm = "sac" if kind == "continuous" else "clipped_ppo"
        if kind == "continuous" and self.training_algorithm != "sac":
            raise ValueError("a continuous action space trains with sac")
        bad = [s for s in self.sensor if s not in ("FRONT_FACING_CAMERA", "STEREO_CAMERAS")]
        if bad:
            raise ValueError(f"sensor {bad[0]!r} is not simulated; use FRONT_FACING_CAMERA")
        return self

    @property
    def discrete(self) -> bool:
        return self.action_space_type == "discrete"

    @property
    def actions(self) -> list[Action]:
        if not isinstance(self.action_space, list):
            raise DataError("a continuous action space has no list of actions")
        return self.action_space

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Hyperparameters(BaseModel):
    """DeepRacer's training hyperparameters, its keys and its defaults."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=64, ge=8, le=4096)
    beta_entropy: float = Field(default=0.01, ge=0, le=1)
    discount_factor: float = Field(default=0.999, gt=0, le=1)
    e_greedy_value: float = Field(default=0.05, ge=0, le=1)
    epsilon_steps: int = Field(default=10000, ge=1)
    exploration_type: Literal["categorical", "e-greedy", "additive_noise"] = "categorical"
    loss_type: Literal["huber", "mean squared error", "mean_squared_error"] = "huber"
    lr: float = Field(default=0.0003, gt=0, le=1)
    num_episodes_between_training: int = Field(default=20, ge=1, le=1000)
    num_epochs: int = Field(default=10, ge=1, le=100)
    stack_size: int = Field(default=1, ge=1, le=4)
    term_cond_avg_score: float = 350.0
    term_cond_max_episodes: int = 1000
    sac_alpha: float = Field(default=0.2, gt=0)


def _read(path: Path, model: type[BaseModel], what: str) -> Any:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read {what} ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); fix the {what}") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise DataError(f"{path}: {what}: {first_problem(exc, 'the document')}") from None


def read_model_metadata(path: Path | None) -> ModelMetadata:
    return ModelMetadata() if path is None else _read(path, ModelMetadata, "model_metadata.json")


def read_hyperparameters(path: Path | None) -> Hyperparameters:
    return Hyperparameters() if path is None else _read(path, Hyperparameters, "hyperparameters")
