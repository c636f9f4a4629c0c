"""Pixels -> input tensor, exactly as the manifest says. Training, evaluation and the device
runtime all call this one function, so a model is always fed the way it was trained.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from lensbox._optional import require
from lensbox.manifest import InputSpec


def _cv2() -> Any:
    return require("cv2", extra="runtime")


def resize_for(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize (and crop, for ``center-crop``) an HxWxC uint8 image to the spec's input size."""
    cv2 = _cv2()
    height, width = image.shape[:2]
    target_h, target_w = spec.height, spec.width
    if spec.resize == "center-crop":
        scale = max(target_w / width, target_h / height)
        new_w = max(target_w, round(width * scale))
        new_h = max(target_h, round(height * scale))
    else:
        new_w, new_h = target_w, target_h
    if (new_w, new_h) != (width, height):
        shrinking = new_w * new_h < width * height
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if spec.resize == "center-crop":
        top = (new_h - target_h) // 2
        left = (new_w - target_w) // 2
        image = image[top : top + target_h, left : left + target_w]
    return image


def to_tensor(
    image: np.ndarray, spec: InputSpec, order: Literal["rgb", "bgr"] = "rgb"
) -> np.ndarray:
    """One HxWx3 uint8 image in ``order`` -> one CHW (or HWC) float32 array for the model."""
    resized = resize_for(image, spec)
    if order != spec.color:
        resized = resized[:, :, ::-1]
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    gain = np.float32(spec.scale) / std
    offset = mean / std
    array = resized.astype(np.float32) * gain - offset
    if spec.layout == "NCHW":
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array, dtype=np.float32)


def to_batch(
    images: list[np.ndarray], spec: InputSpec, order: Literal["rgb", "bgr"] = "rgb"
) -> np.ndarray:
    return np.stack([to_tensor(image, spec, order) for image in images])
