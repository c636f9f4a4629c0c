"""Frame and Result: the one currency from the engine to every sink.

A Result serialises to one JSON object; that JSON is what MQTT, the JSONL log, the console and
``lensbox predict --json`` emit, so every consumer reads the same shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def public(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload without its private ``_`` keys (arrays kept only for drawing)."""
    return {k: v for k, v in payload.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Frame:
    """One decoded image from a source, in OpenCV's BGR order (HxWx3 uint8)."""

    image: np.ndarray
    index: int
    timestamp: float
    source_id: str

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True)
class Result:
    """What the engine says about one frame: the task's payload plus where and when."""

    frame_index: int
    timestamp: float
    source_id: str
    task: str
    payload: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)
    model_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "timestamp": self.timestamp,
            "source_id": self.source_id,
            "task": self.task,
            **public(self.payload),
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "model_sha256": self.model_sha256,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))
