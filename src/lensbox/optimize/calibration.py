"""Calibration images -> the model's input tensors, exactly as the device makes them from
frames (OpenCV's BGR decode, then the manifest's resize and normalisation)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lensbox._optional import require
from lensbox.data.images import IMAGE_EXTENSIONS
from lensbox.errors import DataError
from lensbox.manifest import InputSpec
from lensbox.preprocess import to_tensor

MAX_IMAGES = 300  # "a few hundred": ranges settle long before; more only costs minutes


@dataclass
class CalibrationSet:
    tensors: list[np.ndarray]  # each (1, C, H, W) or (1, H, W, C) float32
    sha256: str  # of the images used (names and bytes), recorded in the manifest
    skipped: list[str]  # one line per unreadable file

    def __len__(self) -> int:
        return len(self.tensors)


def load_calibration(folder: Path, spec: InputSpec, limit: int = MAX_IMAGES) -> CalibrationSet:
    """Up to ``limit`` images from ``folder`` (recursively, spread evenly over its sorted
    files, so every class folder contributes); unreadable files are skipped and named."""
    cv2 = require("cv2", extra="runtime")
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; pass --calibration DIR of images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{folder}: holds no images (.jpg, .png, ...); pass a folder of images")
    if len(files) > limit:
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).round().astype(int)]
    digest = hashlib.sha256()
    tensors, skipped = [], []
    for path in files:
        data = path.read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            skipped.append(f"{path}: not a readable image; skipped")
            continue
        digest.update(
            str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(data).digest()
        )
        tensors.append(to_tensor(image, spec, order="bgr")[None])
    if not tensors:
        raise DataError(f"{folder}: none of its {len(files)} images could be read")
    return CalibrationSet(tensors, digest.hexdigest(), skipped)
