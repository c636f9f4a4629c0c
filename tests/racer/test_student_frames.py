"""With boxes, the camera student sees the current frame beside the one BOX_FRAME_LAGS back:
in training each frame is fed beside the frame that many steps earlier in its own episode,
and the student in training is fed exactly what the engine feeds the exported model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from lensbox.racer import features
from lensbox.racer.config import ModelMetadata
from lensbox.racer.train import (
    BOX_FRAME_LAGS,
    FIRST_BOX_DISTANCE,
    Demonstrations,
    NetworkDriver,
    Student,
    fit_epoch,
    frame_lags,
)
from lensbox.runtime.engine import Engine
from tests.helpers.drive_models import constant_driver


def test_races_with_boxes_see_an_earlier_frame_and_the_others_one() -> None:
    assert frame_lags(0) == (0,)
    assert frame_lags(3) == BOX_FRAME_LAGS and len(BOX_FRAME_LAGS) > 1
    network = Student.new(5, 13, len(BOX_FRAME_LAGS)).network.eval()
    assert network(torch.zeros(1, len(BOX_FRAME_LAGS), 120, 160)).shape == (1, 5)


class Recorder(torch.nn.Module):
    """Stands in for the student: remembers what it was fed."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(3))
        self.state_head = None
        self.fed: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> Any:
        self.fed.append(x.detach())
        return self.bias.expand(len(x), 3)


def test_each_frame_is_fed_beside_the_one_lags_steps_back_in_its_own_episode() -> None:
    seen = Demonstrations(lags=(0, 3))
    state = np.zeros(features.SIZE, np.float32)
    state[FIRST_BOX_DISTANCE] = 1.0  # no box near
    for length in (6, 4):  # two episodes
        seen.new_episode()
        for _ in range(length):
            frame = np.full((1, 120, 160), 10 * len(seen), np.uint8)  # its index, readable
            seen.add(frame, np.eye(3, dtype=np.float32)[0], state)
    assert seen.seen_with == [
        [0, 0], [1, 0], [2, 0], [3, 0], [4, 1], [5, 2],  # the first episode
        [6, 6], [7, 6], [8, 6], [9, 6],  # the second never looks into the first
    ]  # fmt: skip
    recorder = Recorder()
    optimizer = torch.optim.SGD(recorder.parameters(), lr=0.1)
    fit_epoch(recorder, optimizer, None, seen.tensors(), True)
    fed = torch.cat(recorder.fed)
    assert fed.shape == (10, 2, 120, 160)
    as_index = ((fed[:, :, 0, 0] + 1.0) * 127.5 / 10).round().int().tolist()
    assert sorted(as_index) == seen.seen_with


def test_the_student_in_training_is_fed_what_the_engine_feeds_the_package(
    tmp_path: Path,
) -> None:
    package = constant_driver(tmp_path / "stacked", preferred=4, stack=BOX_FRAME_LAGS)
    engine = Engine.open(package)
    driver = NetworkDriver(Student.new(5).network, ModelMetadata(), BOX_FRAME_LAGS)
    rng = np.random.default_rng(0)
    for _ in range(max(BOX_FRAME_LAGS) + 3):
        frame = rng.integers(0, 256, (120, 160), dtype=np.uint8)  # as the camera renders
        np.testing.assert_allclose(driver.prepare(frame), engine.prepare(frame), atol=1e-6)
