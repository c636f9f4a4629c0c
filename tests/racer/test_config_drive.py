"""DeepRacer's training files, the drive task's decoding, and a time trial on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lensbox.errors import DataError
from lensbox.racer.config import Hyperparameters, read_hyperparameters, read_model_metadata
from lensbox.tasks import get_task
from lensbox.tasks.drive import decode_action


def test_model_metadata_reads_deepracer_forms(tmp_path: Path) -> None:
    default = read_model_metadata(None)
    assert default.discrete and default.training_algorithm == "clipped_ppo"
    assert len(default.actions) == 10
    discrete = tmp_path / "model_metadata.json"
    discrete.write_text(
        json.dumps(
            {
                "action_space": [
                    {"steering_angle": s, "speed": v, "index": i}
                    for i, (s, v) in enumerate((s, v) for s in (-30, 0, 30) for v in (1.5, 3.0))
                ],
                "sensor": ["FRONT_FACING_CAMERA"],
                "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
                "version": "5",
            }
        )
    )
    metadata = read_model_metadata(discrete)
    assert [a.speed for a in metadata.actions][:2] == [1.5, 3.0]
    continuous = tmp_path / "continuous.json"
    continuous.write_text(
        json.dumps(
            {
                "action_space": {
                    "steering_angle": {"low": -30, "high": 30},
                    "speed": {"low": 0.5, "high": 4},
                },
                "action_space_type": "continuous",
            }
        )
    )
    assert read_model_metadata(continuous).training_algorithm == "sac"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ('{"action_space": [{"steering_angle": 45, "speed": 1}]}', "action_space"),
        ('{"action_space": [], "action_space_type": "discrete"}', "empty"),
    ],
)
def test_a_bad_model_metadata_gets_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "model_metadata.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as error:
        read_model_metadata(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_hyperparameters_take_deepracer_keys_and_defaults(tmp_path: Path) -> None:
    assert Hyperparameters().discount_factor == 0.999 and Hyperparameters().lr == 0.0003
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"batch_size": 128, "beta_entropy": 0.02, "lr": 0.001}))
    assert read_hyperparameters(path).batch_size == 128
    path.write_text(json.dumps({"learning_rate": 0.1}))
    with pytest.raises(DataError, match="learning_rate"):
        read_hyperparameters(path)


def test_drive_decodes_discrete_and_continuous_actions() -> None:
    space = read_model_metadata(None).to_json()
    scores = np.zeros(10, np.float32)
    scores[7] = 5.0
    decoded = decode_action(scores, space)
    chosen = read_model_metadata(None).actions[7]
    assert decoded["action"] == {
        "steering_angle": chosen.steering_angle,
        "speed": chosen.speed,
        "index": 7,
    }
    assert decoded["score"] > 0.9
    continuous = {
        "action_space": {
            "steering_angle": {"low": -30, "high": 30},
            "speed": {"low": 0.5, "high": 4},
        }
    }
    assert decode_action(np.array([45.0, 0.1]), continuous)["action"] == {
        "steering_angle": 30,
        "speed": 0.5,
    }
    task = get_task("drive")
    assert task.trained_by == "lensbox racer train"
    with pytest.raises(DataError, match="learns in the simulator"):
        task.check_data(Path("."))
