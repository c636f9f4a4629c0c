"""Writes the project stream to MP4 segments. Each segment is written under a temporary name
and renamed when it is complete, so a reader never picks up a half-written file.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.runtime.sinks.base import Message

log = logging.getLogger("lensbox.recorder")


class Recorder:
    """Records frames on its own thread; if encoding falls behind, frames are dropped, not
    inference."""

    name = "recorder"

    def __init__(self, directory: Path, fps: float = 15.0, segment_seconds: float = 60.0) -> None:
        self.directory = directory
        self.fps = fps
        self.segment_seconds = segment_seconds
        self.segments: list[Path] = []
        self.dropped = 0
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=8)
        self._next_time = 0.0
        self._thread = threading.Thread(target=self._run, name="lensbox-recorder", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, directory: str | Path, **kwargs: Any) -> Recorder:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, **kwargs)

    def __call__(self, message: Message) -> None:
        now = time.monotonic()
        if now < self._next_time:
            return  # recording runs at its own frame rate, not the inference rate
        self._next_time = now + 1.0 / self.fps
        try:
            self._queue.put_nowait(message.render())
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        cv2 = require("cv2", extra="runtime")
        writer: Any = None
        temp: Path | None = None
        final: Path | None = None
        started = 0.0
        while True:
            image = self._queue.get()
            if image is None or (
                writer is not None and time.monotonic() - started >= self.segment_seconds
            ):
                if writer is not None and temp is not None and final is not None:
                    writer.release()
                    os.replace(temp, final)
                    self.segments.append(final)
                    writer = None
                if image is None:
                    return
            if writer is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                final = self.directory / f"project-{stamp}-{len(self.segments):04d}.mp4"
                temp = final.with_name(f".{final.stem}.part.mp4")
                height, width = image.shape[:2]
                writer = cv2.VideoWriter(
                    str(temp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height)
                )
                started = time.monotonic()
            writer.write(image)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
