"""What every sink receives and the small protocol it fills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lensbox.results import Frame, Result


@dataclass(frozen=True)
class Message:
    """One published result: the frame it came from, the Result, and the JSON to publish."""

    frame: Frame
    result: Result
    document: dict[str, Any]
    text: str
    render: Callable[[], np.ndarray]
    """Draws the project-stream picture on demand (only sinks that need it pay for it)."""


class Sink(Protocol):
    name: str

    def __call__(self, message: Message) -> None: ...

    def close(self) -> None: ...
