"""A model that sees earlier frames (``InputSpec.stack``): the engine keeps one stream's
history and hands the model each frame beside the ones the manifest names, as training did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lensbox.errors import LensboxError
from lensbox.manifest import InputSpec
from lensbox.preprocess import FrameStack, to_tensor
from lensbox.runtime.engine import Engine
from tests.helpers.drive_models import constant_driver


def test_frames_come_back_beside_the_ones_lags_steps_earlier() -> None:
    stack = FrameStack((0, 2))
    out = [stack.push(np.full((1, 2, 2), value, np.float32)) for value in (1, 2, 3, 4, 5)]
    assert [(float(o[0, 0, 0]), float(o[1, 0, 0])) for o in out] == [
        (1, 1), (2, 1), (3, 1), (4, 2), (5, 3),
    ]  # fmt: skip
    channels_last = FrameStack((0, 1), axis=2)
    channels_last.push(np.zeros((2, 2, 1), np.float32))
    assert channels_last.push(np.ones((2, 2, 1), np.float32)).shape == (2, 2, 2)


@pytest.mark.parametrize("stack", [(1,), (0, 0), (0, 8, 4), (0, 500), ()])
def test_a_stack_that_does_not_start_now_or_go_back_in_order_is_refused(stack: tuple) -> None:
    with pytest.raises(ValueError, match="stack"):
        InputSpec(height=120, width=160, color="gray", stack=stack)


def test_the_engine_feeds_a_stacked_drive_model_its_earlier_frames(tmp_path: Path) -> None:
    model = constant_driver(tmp_path / "stacked", preferred=4, stack=(0, 2))
    engine = Engine.open(model)
    spec = engine.manifest.input
    assert spec.channels == 2
    frames = [np.full((120, 160, 3), 40 * (i + 1), np.uint8) for i in range(5)]
    planes = [to_tensor(frame, spec, "bgr")[0] for frame in frames]
    for i, frame in enumerate(frames):
        tensor = engine.prepare(frame)
        assert tensor.shape == (1, 2, 120, 160)
        np.testing.assert_array_equal(tensor[0, 0], planes[i])
        np.testing.assert_array_equal(tensor[0, 1], planes[max(i - 2, 0)])
        assert engine.run(tensor)[0].shape == (1, len(engine.manifest.labels))
    # Another engine (a swapped model, a reopened source) starts its history afresh.
    fresh = Engine.open(model).prepare(frames[4])
    np.testing.assert_array_equal(fresh[0, 1], planes[4])


def test_a_manifest_whose_stack_disagrees_with_the_model_is_refused(tmp_path: Path) -> None:
    model = constant_driver(tmp_path / "stacked", preferred=4, stack=(0, 2))
    manifest_file = model / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["input"]["stack"] = [0]
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(LensboxError, match="does not match the manifest"):
        Engine.open(model)
