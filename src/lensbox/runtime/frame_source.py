"""The one interface every frame source fills (a camera, a file, a stream, a simulated car)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class FrameSource(ABC):
    """Yields BGR uint8 frames. ``live`` sources (cameras, URLs) are reopened when they drop."""

    source_id: str = "source"
    live: bool = False

    @property
    def fps(self) -> float | None:
        """Native frame rate, when the source knows it."""
        return None

    @abstractmethod
    def open(self) -> None:
        """Connect or open; raise ``SourceError`` when it cannot."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame, or None when the source ended or dropped."""

    def close(self) -> None:  # noqa: B027  (a source with nothing to release keeps the default)
        pass
