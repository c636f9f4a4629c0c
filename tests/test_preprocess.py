from __future__ import annotations

import numpy as np
import pytest

from lensbox.manifest import InputSpec
from lensbox.preprocess import resize_for, to_tensor


def test_stretch_and_center_crop_sizes() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    stretch = InputSpec(height=32, width=48, resize="stretch")
    crop = InputSpec(height=32, width=32, resize="center-crop")
    assert resize_for(image, stretch).shape == (32, 48, 3)
    assert resize_for(image, crop).shape == (32, 32, 3)


def test_center_crop_keeps_the_middle() -> None:
    image = np.zeros((50, 150, 3), np.uint8)
    image[:, 50:100] = 255  # a white centre third
    out = resize_for(image, InputSpec(height=20, width=20, resize="center-crop"))
    assert out.min() == 255  # the shorter side scales to 20, the crop is all centre


def test_normalisation_follows_the_manifest_formula() -> None:
    image = np.full((4, 4, 3), (10, 20, 30), np.uint8)  # RGB
    spec = InputSpec(height=4, width=4, scale=0.5, mean=(1, 2, 3), std=(2, 4, 5))
    tensor = to_tensor(image, spec, order="rgb")
    assert tensor.shape == (3, 4, 4) and tensor.dtype == np.float32
    expected = [(10 * 0.5 - 1) / 2, (20 * 0.5 - 2) / 4, (30 * 0.5 - 3) / 5]
    np.testing.assert_allclose(tensor[:, 0, 0], expected, rtol=1e-6)


def test_bgr_frames_are_reordered_for_rgb_models() -> None:
    bgr = np.full((4, 4, 3), (30, 20, 10), np.uint8)
    rgb = bgr[:, :, ::-1].copy()
    spec = InputSpec(height=4, width=4)
    np.testing.assert_array_equal(to_tensor(bgr, spec, "bgr"), to_tensor(rgb, spec, "rgb"))
    bgr_model = InputSpec(height=4, width=4, color="bgr", layout="NHWC")
    assert to_tensor(bgr, bgr_model, "bgr")[0, 0, 0] == pytest.approx(30 / 255, rel=1e-6)
