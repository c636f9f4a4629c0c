"""Which of the camera student's DAgger iterations an object race packages: the one that drove
the most clean selection laps, each lap driven by the evaluation's own rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")
pytest.importorskip("gymnasium", reason="needs the racer extra")

import torch

from lensbox.racer import evaluate
from lensbox.racer.check import pursue
from lensbox.racer.sim import Box, RaceSim
from lensbox.racer.track import load_track
from lensbox.racer.train import SELECTION_TRIALS, BestIteration, selection_score
from tests.helpers.drive_models import CONTINUOUS
from tests.helpers.tracks import write_track


def test_selection_counts_the_laps_finished_without_touching_a_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network that keeps to the right lane and never dodges finishes clean exactly the laps
    whose boxes all stand in the left lane; it hits a box on every other lap."""
    track = load_track(str(write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)))
    driving: dict[str, RaceSim] = {}
    driven: dict[int, list[Box]] = {}  # each placement the car drove among, by identity

    class RecordedSim(RaceSim):
        def __post_init__(self) -> None:
            super().__post_init__()
            driving["sim"] = self

    monkeypatch.setattr(evaluate, "RaceSim", RecordedSim)

    class RightLaneKeeper(torch.nn.Module):  # sees the simulator, not the frame
        def forward(self, frames: Any) -> Any:
            sim = driving["sim"]
            driven.setdefault(id(sim.boxes), sim.boxes)
            return torch.tensor([pursue(sim, 0.8, offset=-0.25 * sim.track.width)])

    clean, faults = selection_score(RightLaneKeeper(), track, CONTINUOUS, 2)
    placements = list(driven.values())
    assert len(placements) == 3 * SELECTION_TRIALS
    all_left = sum(all(box.left for box in boxes) for boxes in placements)
    assert 0 < all_left < len(placements)  # the placements differ, so the count can tell
    assert clean == all_left
    assert faults <= -(len(placements) - all_left)  # at least one crash on every other lap


def test_the_best_iteration_is_packaged_and_a_tie_goes_to_the_later_one() -> None:
    network = torch.nn.Linear(2, 1)
    best = BestIteration()
    history: list[dict[str, Any]] = [{"stage": "student", "iteration": 1}]
    weights = {}
    for iteration, score in ((2, (1, -4)), (3, (3, -2)), (4, (0, -9)), (5, (3, -2)), (6, (2, 0))):
        torch.nn.init.constant_(network.weight, float(iteration))
        weights[iteration] = network.weight.detach().clone()
        best.offer(score, iteration, network)
        history.append(
            {"stage": "student", "iteration": iteration, "selection_clean_laps": score[0]}
        )
    best.restore(network, history)
    assert best.iteration == 5 and best.score == (3, -2)
    assert torch.equal(network.weight, weights[5])  # the kept weights, not the last ones
    assert [row.get("kept") for row in history] == [None, False, False, False, True, False]


def test_a_race_without_selection_laps_keeps_its_last_weights() -> None:
    network = torch.nn.Linear(2, 1)
    torch.nn.init.constant_(network.weight, 7.0)
    history: list[dict[str, Any]] = [{"stage": "student", "iteration": 4}]
    BestIteration().restore(network, history)
    assert torch.all(network.weight == 7.0) and "kept" not in history[0]
