"""Drawing helpers for the project stream (OpenCV, BGR frames, in place)."""

from __future__ import annotations

import numpy as np

from lensbox._optional import require


def label_box(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    color: tuple[int, int, int] = (40, 40, 40),
    text_color: tuple[int, int, int] = (255, 255, 255),
) -> None:
    """A filled box with text, scaled to the frame so it stays legible from 240p to 1080p."""
    cv2 = require("cv2", extra="runtime")
    scale = max(0.4, image.shape[0] / 720 * 0.9)
    thickness = max(1, round(scale * 2))
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin
    pad = max(3, round(6 * scale))
    cv2.rectangle(image, (x, y), (x + width + 2 * pad, y + height + baseline + 2 * pad), color, -1)
    cv2.putText(
        image,
        text,
        (x + pad, y + pad + height),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        text_color,
        thickness,
        cv2.LINE_AA,
    )
