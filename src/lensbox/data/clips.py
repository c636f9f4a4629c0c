"""Video clips for activity recognition: one subfolder of clips per label.

Each clip is opened and decoded with OpenCV (FFmpeg underneath), as the device will; a clip
that does not open, holds no frame, or is shorter than ``min_frames`` is reported on one line
and skipped.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.data.imagefolder import FileProblem
from lensbox.data.splits import SplitReport
from lensbox.errors import DataError

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"})


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int
    frames: int
    fps: float


@dataclass
class ClipReport(SplitReport[Clip]):
    """Clips per label; a clip folder defines no splits, so ``select`` gives every clip."""

    @property
    def clips(self) -> list[Clip]:
        return self.samples

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for clip in self.clips:
            counts[self.labels[clip.label]] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.can_train,
            "classes": self.counts(),
            "n_clips": len(self.clips),
            "n_problems": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "errors": self.errors,
            "fingerprint": self.fingerprint(),
        }


def read_frames(
    path: str | Path, size: tuple[int, int] | None = None, step: int = 1
) -> list[np.ndarray]:
    """Every ``step``-th frame of a clip, RGB, optionally resized to ``size`` (w, h)."""
    cv2 = require("cv2", extra="runtime")
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                if size is not None:
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()
    return frames


def _probe(path: Path, label: int, min_frames: int) -> Clip | FileProblem:
    cv2 = require("cv2", extra="runtime")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return FileProblem(
                path, "unreadable", f"{path}: not a video OpenCV can open; re-encode it (H.264 MP4)"
            )
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = 0
        while capture.grab():
            frames += 1
    finally:
        capture.release()
    if frames == 0:
        return FileProblem(
            path, "unreadable", f"{path}: holds no decodable frame; re-encode or remove it"
        )
    if frames < min_frames:
        return FileProblem(
            path,
            "too_short",
            f"{path}: {frames} frame(s), fewer than {min_frames}; use a longer clip",
        )
    return Clip(path, label, frames, fps)


def scan_clips(root: str | Path, min_frames: int = 2) -> ClipReport:
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder; pass a folder with one subfolder of clips per label"
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    labelled: list[tuple[Path, int]] = []
    labels: list[str] = []
    problems: list[FileProblem] = []
    for folder in folders:
        videos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
        )
        if not videos:
            continue  # e.g. a folder of nested datasets: not a label
        labels.append(folder.name)
        labelled += [(v, len(labels) - 1) for v in videos]
        for stray in sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in VIDEO_EXTENSIONS
        ):
            if not stray.name.startswith("."):
                problems.append(
                    FileProblem(
                        stray,
                        "stray_file",
                        f"{stray}: not a video clip; move it out of the dataset",
                    )
                )
    report = ClipReport(root, labels, [], problems)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for outcome in pool.map(lambda item: _probe(item[0], item[1], min_frames), labelled):
            if isinstance(outcome, FileProblem):
                report.problems.append(outcome)
            else:
                report.samples.append(outcome)
    if not labels:
        report.errors.append("no label folders with video clips (MP4/AVI/MKV) found")
    elif len(labels) < 2:
        report.errors.append(
            f"only one label ({labels[0]}); activity recognition needs at least two"
        )
    elif not report.clips:
        report.errors.append("no readable clips (see the problems above)")
    return report
