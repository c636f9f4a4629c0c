"""Tracking IDs, line counting and the detection/segmentation/activity project templates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lensbox.projects import init_project, template_names
from lensbox.results import Result
from lensbox.runtime.functions import InferenceFunction
from lensbox.tasks.tracking import IouTracker, LineCounter


def _det(x: float, y: float = 50, score: float = 0.9, label: str = "person", w: float = 20) -> dict:
    return {"label": label, "score": score, "box": [x, y, x + w, y + 2 * w], "class_index": 0}


def test_tracker_keeps_ids_and_weak_detections_continue_tracks() -> None:
    tracker = IouTracker()
    first = tracker.update([_det(10), _det(200)])
    ids = [d["track_id"] for d in first]
    assert len(set(ids)) == 2
    second = tracker.update([_det(205), _det(15, score=0.2)])  # order swapped, one weak
    assert {d["track_id"] for d in second} == set(ids)
    assert next(d for d in second if d["box"][0] == 15)["track_id"] == ids[0]
    assert tracker.update([_det(400, score=0.2)]) == []  # weak and new: noise, no track


def test_line_counter_counts_each_direction_once() -> None:
    tracker, counter = IouTracker(), LineCounter((100, 0), (100, 200))
    for x in range(0, 200, 8):  # left to right across x = 100
        counter.update(tracker.update([_det(x)]))
    assert (counter.forward, counter.backward) == (1, 0)  # top-to-bottom line: rightwards
    for x in range(200, 0, -8):  # the first person walks back
        counter.update(tracker.update([_det(x)]))
    assert (counter.forward, counter.backward) == (1, 1)


def _result(index: int, payload: dict) -> Result:
    return Result(index, index / 10, "test", "detect", payload)


def test_people_counter_template_counts_a_crossing(tmp_path: Path) -> None:
    assert {"people-counter", "road-watch", "activity-alert", "trash-sorter"} <= set(
        template_names()
    )
    init_project("people-counter", tmp_path / "pc")
    function = InferenceFunction.load(tmp_path / "pc" / "function.py", ["person"], "m")
    outputs = []
    for i, x in enumerate(range(0, 600, 30)):
        payload = {"detections": [_det(x, w=60)], "counts": {"person": 1}, "frame_size": [640, 360]}
        outputs.append(function(_result(i, payload)))
    assert (outputs[-1]["crossed_forward"], outputs[-1]["crossed_backward"]) == (1, 0)
    assert sum(1 for o in outputs if o["crossed_now"]) == 1
    assert len({tuple(o["track_ids"]) for o in outputs}) == 1  # one person, one ID throughout
    image = np.zeros((360, 640, 3), np.uint8)
    function.draw(image, _result(0, {}), outputs[-1])
    assert image.any()


def test_road_watch_and_activity_alert_templates(tmp_path: Path) -> None:
    init_project("road-watch", tmp_path / "rw")
    watch = InferenceFunction.load(tmp_path / "rw" / "function.py", ["Car", "Road"], "m")
    quiet = watch(_result(0, {"class_fractions": {"Road": 0.9, "Car": 0.1}}))
    busy = [watch(_result(i, {"class_fractions": {"Road": 0.5, "Car": 0.5}})) for i in range(1, 4)]
    assert quiet["alert"] is False and [b["alert"] for b in busy] == [
        False,
        False,
        True,
    ]  # 3 frames in a row
    init_project("activity-alert", tmp_path / "aa")
    alert = InferenceFunction.load(tmp_path / "aa" / "function.py", ["idle", "handling"], "m")
    labels = ["idle"] * 6 + ["handling"] * 8 + ["idle"] * 6
    events = [
        alert(_result(i, {"label": name, "score": 0.9}))["event"] for i, name in enumerate(labels)
    ]
    happened = [e for e in events if e]
    assert happened[0] == {"event": "started", "activity": "handling"}
    assert happened[1]["event"] == "ended" and happened[1]["frames"] == 8
