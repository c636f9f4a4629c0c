"""Track IDs across frames for detections (ByteTrack-style IoU association) and line counting.

Why this and not a learned tracker: IoU matching with a constant-velocity guess is what a
people or car counter needs at video rates, costs microseconds per frame, and needs no model.
As in ByteTrack, confident detections are matched first and weak ones may then continue an
existing track, so a person who is briefly detected with low confidence keeps their ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lensbox.boxes import iou_matrix


@dataclass
class Track:
    track_id: int
    label: str
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    missed: int = 0
    hits: int = 1

    def predicted(self) -> np.ndarray:
        return self.box + self.velocity * (self.missed + 1)

    @property
    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2


class IouTracker:
    """Give each detection a ``track_id`` that stays with the same object across frames."""

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_missed: int = 15,
        high_score: float = 0.5,
        low_score: float = 0.1,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.high_score = high_score
        self.low_score = low_score
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Detections (``box``, ``label``, ``score``) -> the same dicts with ``track_id`` added;
        detections below ``low_score`` are dropped."""
        kept = [d for d in detections if d["score"] >= self.low_score]
        high = [i for i, d in enumerate(kept) if d["score"] >= self.high_score]
        low = [i for i, d in enumerate(kept) if d["score"] < self.high_score]
        unmatched_tracks = list(range(len(self.tracks)))
        assigned: dict[int, int] = {}
        for group in (high, low):
            pairs = self._match(kept, group, unmatched_tracks)
            for det_index, track_index in pairs:
                assigned[det_index] = track_index
                unmatched_tracks.remove(track_index)
        out = []
        for det_index, det in enumerate(kept):
            box = np.asarray(det["box"], dtype=np.float32)
            if det_index in assigned:
                track = self.tracks[assigned[det_index]]
                step = (box - track.box) / (track.missed + 1)
                track.velocity = 0.5 * track.velocity + 0.5 * step
                track.box, track.missed = box, 0
                track.hits += 1
            elif det_index in high:
                track = Track(self._next_id, det["label"], box)
                self._next_id += 1
                self.tracks.append(track)
            else:
                continue  # a weak detection that continues nothing is likely noise
            out.append({**det, "track_id": track.track_id})
        for index in unmatched_tracks:
            self.tracks[index].missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out

    def _match(
        self, detections: list[dict[str, Any]], group: list[int], candidates: list[int]
    ) -> list[tuple[int, int]]:
        if not group or not candidates:
            return []
        boxes = np.array([detections[i]["box"] for i in group], dtype=np.float32)
        predicted = np.array([self.tracks[t].predicted() for t in candidates], dtype=np.float32)
        iou = iou_matrix(boxes, predicted)
        for gi, det_index in enumerate(group):
            for ci, track_index in enumerate(candidates):
                if self.tracks[track_index].label != detections[det_index]["label"]:
                    iou[gi, ci] = 0.0
        pairs = []
        while iou.size and iou.max() >= self.iou_threshold:
            gi, ci = (int(v) for v in np.unravel_index(int(np.argmax(iou)), iou.shape))
            pairs.append((group[gi], candidates[ci]))
            iou[gi, :] = 0.0
            iou[:, ci] = 0.0
        return pairs


class LineCounter:
    """Counts tracks whose centre crosses a line, in each direction.

    The line runs from ``start`` to ``end`` in frame pixels. "forward" is a crossing to the
    side the line's normal points to: left-to-right for a top-to-bottom line, bottom-to-top
    for a left-to-right line.
    """

    def __init__(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.start, self.end = start, end
        self.forward = 0
        self.backward = 0
        self._side: dict[int, float] = {}

    def side(self, point: tuple[float, float]) -> float:
        (x1, y1), (x2, y2) = self.start, self.end
        return (y2 - y1) * (point[0] - x1) - (x2 - x1) * (point[1] - y1)

    def update(self, tracked: list[dict[str, Any]]) -> list[int]:
        """Feed this frame's tracked detections; returns the IDs that crossed just now."""
        crossed = []
        for det in tracked:
            x1, y1, x2, y2 = det["box"]
            now = self.side(((x1 + x2) / 2, (y1 + y2) / 2))
            before = self._side.get(det["track_id"])
            if before is not None and before * now < 0:
                if before < 0 < now:  # onto the positive (normal) side
                    self.forward += 1
                else:
                    self.backward += 1
                crossed.append(det["track_id"])
            if now != 0:
                self._side[det["track_id"]] = now
        return crossed
