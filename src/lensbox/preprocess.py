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
        # Bilinear, not INTER_AREA: ~10x cheaper per frame (0.12 vs 1.3 ms at 640x360), which
        # is what lets the device pipeline keep up with the bare model. Training resizes with
        # this same function, so the model learns exactly what the device feeds it.
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if spec.resize == "center-crop":
        top = (new_h - target_h) // 2
        left = (new_w - target_w) // 2
        image = image[top : top + target_h, left : left + target_w]
    return image


def to_tensor(
    image: np.ndarray, spec: InputSpec, order: Literal["rgb", "bgr"] = "rgb"
) -> np.ndarray:
    """One HxWx3 uint8 image in ``order`` -> one CHW (or HWC) float32 array for the model.

    A ``gray`` model takes one channel: a colour image is converted (a gray one, HxW or HxWx1,
    is taken as it is)."""
    if spec.color == "gray":
        return _gray_tensor(image, spec, order)
    resized = resize_for(image, spec)
    gain = np.float32(spec.scale) / np.asarray(spec.std, dtype=np.float32)
    offset = np.asarray(spec.mean, dtype=np.float32) / np.asarray(spec.std, dtype=np.float32)
    # Output channel c comes from input channel c, or 2 - c when the colour orders differ.
    channels = [2 - c if order != spec.color else c for c in range(3)]
    height, width = resized.shape[:2]
    if spec.layout == "NCHW":
        # Per-channel planes: ~15x faster than a float HWC pass plus a transpose.
        out = np.empty((3, height, width), dtype=np.float32)
        for c, source in enumerate(channels):
            np.multiply(resized[:, :, source], gain[c], out=out[c], casting="unsafe")
            out[c] -= offset[c]
        return out
    hwc = resized[:, :, channels].astype(np.float32) * gain - offset
    return np.ascontiguousarray(hwc, dtype=np.float32)


def _gray_tensor(image: np.ndarray, spec: InputSpec, order: str) -> np.ndarray:
    cv2 = _cv2()
    if image.ndim == 3 and image.shape[2] == 3:
        code = cv2.COLOR_BGR2GRAY if order == "bgr" else cv2.COLOR_RGB2GRAY
        image = cv2.cvtColor(image, code)
    image = resize_for(image.reshape(image.shape[0], image.shape[1]), spec)
    plane = (image.astype(np.float32) * np.float32(spec.scale) - spec.mean[0]) / spec.std[0]
    return plane[None] if spec.layout == "NCHW" else plane[:, :, None]


def to_batch(
    images: list[np.ndarray], spec: InputSpec, order: Literal["rgb", "bgr"] = "rgb"
) -> np.ndarray:
    return np.stack([to_tensor(image, spec, order) for image in images])
