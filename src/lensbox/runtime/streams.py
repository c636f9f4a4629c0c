"""The two live streams, encoded once per frame and only while someone watches.

The pipeline publishes raw frames (and, for the project stream, a renderer that draws the
result) without encoding anything. A viewer asks for the newest JPEG; the first viewer to ask
for a new frame encodes it, every other viewer gets the same bytes. Viewers are paced at
``max_fps``, so encoding follows the display rate, not the inference rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from lensbox._optional import require

STREAMS = ("device", "project")
BOUNDARY = "lensboxframe"


@dataclass
class _Slot:
    seq: int = 0
    render: Callable[[], np.ndarray] | None = None
    jpeg: bytes | None = None
    jpeg_seq: int = -1
    viewers: int = 0
    encodes: int = 0


class StreamHub:
    """Latest frame per stream, JPEG-encoded lazily and at most once per frame."""

    def __init__(self, quality: int = 80, max_fps: float = 15.0) -> None:
        self.quality = quality
        self.max_fps = max_fps
        self._slots = {name: _Slot() for name in STREAMS}
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self.closed = False

    def publish(self, name: str, render: Callable[[], np.ndarray]) -> None:
        """Offer a new frame; ``render`` is called only if someone watches."""
        with self._cond:
            slot = self._slots[name]
            slot.seq += 1
            slot.render = render
            self._cond.notify_all()

    def watching(self, name: str) -> bool:
        return self._slots[name].viewers > 0

    def encodes(self, name: str) -> int:
        return self._slots[name].encodes

    def latest_jpeg(self, name: str) -> tuple[int, bytes | None]:
        """(sequence, JPEG bytes) of the newest frame, encoding it if nobody has yet."""
        cv2 = require("cv2", extra="runtime")
        with self._encode_lock:
            slot = self._slots[name]
            seq, render = slot.seq, slot.render
            if render is None:
                return seq, None
            if slot.jpeg_seq != seq:
                image = render()
                ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if ok:
                    slot.jpeg, slot.jpeg_seq = buffer.tobytes(), seq
                    slot.encodes += 1
            return slot.jpeg_seq, slot.jpeg

    def frames(self, name: str, timeout: float = 1.0) -> Iterator[bytes | None]:
        """JPEGs for one viewer, newest first, paced at ``max_fps``; None is a keep-alive tick."""
        slot = self._slots[name]
        with self._cond:
            slot.viewers += 1
        try:
            last_seq = -1
            period = 1.0 / self.max_fps if self.max_fps > 0 else 0.0
            next_time = 0.0
            while not self.closed:
                with self._cond:
                    if slot.seq == last_seq and not self.closed:
                        self._cond.wait(timeout)
                if self.closed:
                    return
                if slot.seq == last_seq:
                    yield None
                    continue
                delay = next_time - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                seq, jpeg = self.latest_jpeg(name)
                next_time = time.monotonic() + period
                if jpeg is None:
                    continue
                last_seq = seq
                yield jpeg
        finally:
            with self._cond:
                slot.viewers -= 1

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def multipart_chunk(jpeg: bytes) -> bytes:
    header = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    ).encode("ascii")
    return header + jpeg + b"\r\n"


class ResultFeed:
    """The newest results for Server-Sent Events subscribers: a bounded ring with sequence numbers."""

    def __init__(self, size: int = 256) -> None:
        self._items: list[tuple[int, str]] = []
        self._size = size
        self._seq = 0
        self._cond = threading.Condition()
        self.closed = False

    def publish(self, message: str) -> None:
        with self._cond:
            self._seq += 1
            self._items.append((self._seq, message))
            if len(self._items) > self._size:
                del self._items[: len(self._items) - self._size]
            self._cond.notify_all()

    def latest(self, n: int = 20) -> list[str]:
        with self._cond:
            return [m for _, m in self._items[-n:]]

    def follow(self, timeout: float = 15.0) -> Iterator[str | None]:
        """New messages from now on; None is a keep-alive tick after ``timeout`` idle seconds."""
        with self._cond:
            last = self._seq
        while not self.closed:
            with self._cond:
                if self._seq == last and not self.closed:
                    self._cond.wait(timeout)
                fresh = [m for s, m in self._items if s > last]
                last = self._seq
            if self.closed:
                return
            if not fresh:
                yield None
            yield from fresh[-32:]

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
