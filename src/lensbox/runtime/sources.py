"""Frame sources: camera, video file, RTSP/HTTP stream, image folder, synthetic test pattern.

A source only opens, reads and closes; reconnecting, pacing and buffering belong to the
pipeline, so every source gets the same fault handling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.data.images import IMAGE_EXTENSIONS, load_rgb
from lensbox.errors import ImageError, SourceError
from lensbox.runtime.frame_source import FrameSource

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})
DECODER_THREADS = 1  # see VideoCaptureSource.open


class VideoCaptureSource(FrameSource):
    """OpenCV's VideoCapture (FFmpeg): camera indexes, files, rtsp:// and http:// streams."""

    def __init__(self, uri: str | int, live: bool, timeout_ms: int = 5000) -> None:
        self.uri = uri
        self.live = live
        self.source_id = str(uri)
        self.timeout_ms = timeout_ms
        self._capture: Any = None
        self._fps: float | None = None

    @property
    def fps(self) -> float | None:
        return self._fps

    def open(self) -> None:
        cv2 = require("cv2", extra="runtime")
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            self.timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            self.timeout_ms,
            # One decoding thread: the engine already fills every core, and FFmpeg's frame
            # threads cost core time of their own (bottle-detection.mp4, 640x360 H.264: 0.41
            # ms of CPU a frame on one thread, 0.61 on two), time the model then lacks.
            cv2.CAP_PROP_N_THREADS,
            DECODER_THREADS,
        ]
        if isinstance(self.uri, int):
            capture = cv2.VideoCapture(self.uri)
        else:
            capture = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.uri}: cannot open video source")
        if self.live:
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0.5 < fps < 1000 else None
        self._capture = capture

    def read(self) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        return frame if ok and frame is not None else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSource(FrameSource):
    """Every image in a folder, sorted by name; unreadable files are skipped and counted."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.source_id = str(folder)
        self.skipped: list[str] = []
        self._paths: list[Path] = []
        self._next = 0

    def open(self) -> None:
        self._paths = sorted(
            p
            for p in self.folder.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not self._paths:
            raise SourceError(f"{self.folder}: no images in this folder")
        self._next = 0

    def read(self) -> np.ndarray | None:
        while self._next < len(self._paths):
            path = self._paths[self._next]
            self._next += 1
            try:
                return np.ascontiguousarray(load_rgb(path)[:, :, ::-1])
            except ImageError as exc:
                self.skipped.append(str(exc))
        return None


class TestPatternSource(FrameSource):
    """A moving synthetic pattern with a frame counter: a source that needs no hardware."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, width: int = 640, height: int = 360, fps: float = 30.0) -> None:
        self.width, self.height = width, height
        self._fps = fps
        self.source_id = "test"
        self._index = 0
        self.live = False
        bars = np.array(
            [
                [192, 192, 192],
                [0, 192, 192],
                [192, 192, 0],
                [0, 192, 0],
                [192, 0, 192],
                [0, 0, 192],
                [192, 0, 0],
            ],
            dtype=np.uint8,
        )
        columns = np.repeat(bars, -(-width // len(bars)), axis=0)[:width]
        self._base = np.repeat(columns[None], height, axis=0)

    @property
    def fps(self) -> float | None:
        return self._fps

    def open(self) -> None:
        self._index = 0

    def read(self) -> np.ndarray | None:
        cv2 = require("cv2", extra="runtime")
        frame = np.roll(self._base, self._index * 4, axis=1).copy()
        x = int((self._index * 7) % max(1, self.width - 60))
        cv2.rectangle(
            frame, (x, self.height // 3), (x + 60, self.height // 3 + 60), (255, 255, 255), -1
        )
        cv2.putText(
            frame,
            f"lensbox test {self._index}",
            (12, self.height - 16),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (0, 0, 0),
            2,
            cv2.LINE_AA,
        )
        self._index += 1
        return frame


def open_source(spec: str) -> FrameSource:
    """Parse ``--source``: ``0`` (camera), a video file, a URL, an image folder, ``test``, or
    ``sim:TRACK`` (a simulated DeepRacer car's camera, TRACK a shipped name or a .npy file)."""
    if spec == "test":
        return TestPatternSource()
    if spec.startswith("sim:"):
        from lensbox.runtime.simsource import SimulatedCar

        return SimulatedCar(spec[4:])
    if spec.isdigit():
        return VideoCaptureSource(int(spec), live=True)
    if "://" in spec:
        scheme = spec.split("://", 1)[0].lower()
        if scheme not in ("rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp"):
            raise SourceError(f"{spec}: unsupported stream scheme {scheme!r}")
        return VideoCaptureSource(spec, live=True)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return SingleImageSource(path)
        return VideoCaptureSource(str(path), live=False)
    raise SourceError(
        f"{spec}: no such file or folder; --source takes a camera index (0), a video file, "
        "an rtsp:// or http:// URL, an image folder, 'test' or sim:TRACK"
    )


class SingleImageSource(ImageFolderSource):
    """One image file, as a one-frame source."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.parent)
        self.source_id = str(path)
        self._only = path

    def open(self) -> None:
        self._paths = [self._only]
        self._next = 0
