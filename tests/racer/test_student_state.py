"""The camera student's second head, with boxes: it learns to read the teacher's state (where
the box stands) off real rendered frames, and it never reaches the exported network."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from lensbox.racer import features
from lensbox.racer.camera import Camera, CameraSpec, Look, TrackMap
from lensbox.racer.sim import Box, RaceSim
from lensbox.racer.track import Track, load_track
from lensbox.racer.train import (
    BESIDE_WEIGHT,
    BOX_WEIGHT,
    STATE_TARGETS,
    Demonstrations,
    Student,
    fit_epoch,
    state_targets,
)
from tests.helpers.tracks import write_track

BOX_SIDE = features.SIZE - 2 * features.N_BOXES + 1 - STATE_TARGETS.start  # the first box's lane


def box_scene(track: Track, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """A frame of the bottom straight with one box 0.8-2.5 m ahead in a random lane, the car
    near the centre line; the teacher's state there, and whether the box stands left."""
    sim = RaceSim(track, n_objects=0)
    sim.reset(float(rng.uniform(0.2, 0.8)), rng, offset=float(rng.uniform(-0.03, 0.03)))
    left = bool(rng.random() < 0.5)
    s = sim.projection.s + float(rng.uniform(0.8, 2.5))  # type: ignore[union-attr]
    point, heading = track.point_at(s)
    normal = np.array([-math.sin(heading), math.cos(heading)])
    x, y = point + (0.25 if left else -0.25) * track.width * normal
    sim.boxes = [Box(float(x), float(y), heading, s, left)]
    camera = Camera(TrackMap(track), CameraSpec(), Look(noise=0.0))
    frame = camera.render(sim.car.front, sim.car.yaw, [box.corners() for box in sim.boxes])
    return frame[None], features.state_vector(sim), left


def test_the_state_head_learns_which_lane_the_box_stands_in(tmp_path: Path) -> None:
    """Trained with the student's own loss on 32 frames (one batch), the state head reads the
    box's lane right on unseen frames; before training it guesses. (It sits at the mean for
    about 140 steps, then finds the box: the cap leaves room.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core: the suite runs two workers
    try:
        check_state_head_learns(tmp_path)
    finally:
        torch.set_num_threads(threads)


def check_state_head_learns(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    track = load_track(str(write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)))
    student = Student.new(3, n_state=state_targets(1))
    seen = Demonstrations()
    for _ in range(32):
        frame, state, _ = box_scene(track, rng)
        seen.add(frame, np.eye(3, dtype=np.float32)[0], state)
    held_out = [box_scene(track, rng) for _ in range(60)]
    frames = torch.from_numpy(np.stack([scene[0] for scene in held_out]).astype(np.float32))
    lefts = np.array([scene[2] for scene in held_out])
    assert 0.3 < lefts.mean() < 0.7  # both lanes in the held-out frames

    def accuracy() -> float:
        student.network.eval()
        with torch.no_grad():
            _, read = student.network.forward_with_state(frames / 127.5 - 1.0)
        student.network.train()
        return float(((read[:, BOX_SIDE].numpy() > 0) == lefts).mean())

    before = accuracy()
    data = seen.tensors()
    losses = []
    for epoch in range(300):
        losses += fit_epoch(student.network, student.optimizer, None, data, True)
        if epoch % 10 == 9 and accuracy() >= 0.95:
            break
    assert before < 0.75
    assert accuracy() >= 0.9, f"read the box's lane right on {accuracy():.0%} of unseen frames"
    assert losses[-1] < 0.2 * losses[0]


def test_the_state_head_is_for_races_with_boxes_and_never_exported() -> None:
    assert state_targets(0) == 0 and Student.new(5).network.state_head is None
    network = Student.new(5, n_state=state_targets(3)).network.eval()
    assert network.state_head.out_features == STATE_TARGETS.stop - STATE_TARGETS.start
    frame = torch.zeros(1, 1, 120, 160)
    assert network(frame).shape == (1, 5)  # what ONNX exports: the action scores alone
    actions, read = network.forward_with_state(frame)
    assert torch.equal(actions, network(frame)) and read.shape == (
        1,
        network.state_head.out_features,
    )


def test_frames_with_a_box_beside_the_car_weigh_most(tmp_path: Path) -> None:
    """A box 1.5 m ahead in the other lane is in the frame and weighs BOX_WEIGHT; 0.2 m past
    the car's front it has left the frame while the teacher still sees it: BESIDE_WEIGHT;
    1 m behind, nothing: 1."""
    track = load_track(str(write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)))
    camera = Camera(TrackMap(track), CameraSpec(), Look(noise=0.0))
    seen, in_frame = Demonstrations(), []
    for ahead in (1.5, -0.2, -1.0):
        sim = RaceSim(track, n_objects=0)
        sim.reset(0.3, np.random.default_rng(0), offset=-0.25 * track.width)  # the right lane
        s = sim.projection.s + ahead  # type: ignore[union-attr]
        point, heading = track.point_at(s)
        x, y = point + 0.25 * track.width * np.array([-math.sin(heading), math.cos(heading)])
        box = Box(float(x), float(y), heading, s, left=True)
        empty = camera.render(sim.car.front, sim.car.yaw, [])
        frame = camera.render(sim.car.front, sim.car.yaw, [box.corners()])
        in_frame.append(bool((np.abs(frame.astype(int) - empty.astype(int)) > 8).any()))
        sim.boxes = [box]
        seen.add(frame[None], np.zeros(3, np.float32), features.state_vector(sim))
    assert in_frame == [True, False, False]
    assert seen.weights == [BOX_WEIGHT, BESIDE_WEIGHT, 1.0]
