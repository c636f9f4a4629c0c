"""People counter: follow each detected person and count line crossings, like a door counter.

Runs on the device after every detection result. Tracking IDs come from lensbox's IoU tracker,
so a person keeps one ID while in view. "line" in project.json is two points as fractions of
the frame (x, y); the default is a vertical line through the middle. "count_labels" picks the
classes to count (use your detector's label names, e.g. "raccoon" or "car").
"""

from __future__ import annotations

import cv2

from lensbox.tasks.tracking import IouTracker, LineCounter


def _setup(context, width, height):
    config = context.config
    state = context.state
    if "tracker" not in state:
        (x1, y1), (x2, y2) = config.get("line", [[0.5, 0.0], [0.5, 1.0]])
        state["tracker"] = IouTracker(max_missed=int(config.get("max_missed_frames", 15)))
        state["counter"] = LineCounter((x1 * width, y1 * height), (x2 * width, y2 * height))
    return state["tracker"], state["counter"]


def process(result, context):
    payload = result.payload
    config = context.config
    wanted = set(config.get("count_labels", ["person"]))
    min_score = float(config.get("min_score", 0.3))
    frame_w, frame_h = payload["frame_size"]
    tracker, counter = _setup(context, frame_w, frame_h)
    people = [d for d in payload["detections"] if d["label"] in wanted and d["score"] >= min_score]
    tracked = tracker.update(people)
    crossed = counter.update(tracked)
    ids = {d["track_id"]: d["box"] for d in tracked}
    context.state["last_tracked"] = ids
    return {
        "in_view": len(tracked),
        "track_ids": sorted(ids),
        "crossed_forward": counter.forward,
        "crossed_backward": counter.backward,
        "crossed_now": crossed,
    }


def draw(image, result, output, context):
    if not output:
        return
    height, width = image.shape[:2]
    counter = context.state.get("counter")
    if counter is None:
        return
    (x1, y1), (x2, y2) = counter.start, counter.end
    cv2.line(image, (int(x1), int(y1)), (int(x2), int(y2)), (0, 220, 255), 2)
    for track_id, box in context.state.get("last_tracked", {}).items():
        cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
        cv2.circle(image, (cx, cy), 5, (0, 220, 255), -1)
        cv2.putText(
            image, f"#{track_id}", (cx + 6, cy - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 220, 255), 2
        )
    text = f"in view {output['in_view']}  forward {output['crossed_forward']}  back {output['crossed_backward']}"
    cv2.rectangle(image, (0, height - 34), (width, height), (40, 40, 40), -1)
    cv2.putText(
        image,
        text,
        (10, height - 10),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
