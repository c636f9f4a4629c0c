"""Photometric and geometric augmentation on uint8 RGB arrays, driven by a seeded generator.

Augmented views are computed once, before the frozen part of the backbone caches their
features, so augmentation costs one backbone pass per view instead of one per epoch.
"""

from __future__ import annotations

import numpy as np

from lensbox._optional import require


def random_view(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random resized crop (60-100% of the area, aspect 3:4-4:3), flip and colour jitter."""
    cv2 = require("cv2", extra="runtime")
    height, width = image.shape[:2]
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(0.6, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        crop_w = round(np.sqrt(target * aspect))
        crop_h = round(np.sqrt(target / aspect))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = int(rng.integers(0, height - crop_h + 1))
            left = int(rng.integers(0, width - crop_w + 1))
            image = image[top : top + crop_h, left : left + crop_w]
            break
    view = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        view = view[:, ::-1]
    if rng.random() < 0.1:
        view = view[::-1]
    brightness = rng.uniform(0.8, 1.2)
    contrast = rng.uniform(0.8, 1.2)
    mean = view.mean()
    jittered = (view.astype(np.float32) - mean) * contrast + mean * brightness
    return np.clip(jittered + 0.5, 0, 255).astype(np.uint8)


def flipped(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])
