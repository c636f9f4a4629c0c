"""Activity alert: start and end events for the activities you care about.

Runs on the device after every activity result. An activity in "alert_on" starts once it has
led with at least "min_score" for "min_frames" frames in a row, and ends when another activity
has done the same; each event says how long the activity lasted, in frames and seconds.
"""

from __future__ import annotations

import cv2


def process(result, context):
    payload = result.payload
    if payload.get("label") is None:
        return None
    config = context.config
    state = context.state
    label, score = payload["label"], float(payload["score"])
    need = int(config.get("min_frames", 5))
    if score >= float(config.get("min_score", 0.6)) and label == state.get("candidate"):
        state["streak"] = state.get("streak", 0) + 1
    else:
        state["candidate"], state["streak"] = (
            label,
            1 if score >= float(config.get("min_score", 0.6)) else 0,
        )
    event = None
    current = state.get("current")
    if state["streak"] >= need and label != current:
        if current in config.get("alert_on", []):
            event = {
                "event": "ended",
                "activity": current,
                "frames": result.frame_index - state["since_frame"],
                "seconds": round(result.timestamp - state["since_time"], 2),
            }
        state["current"], state["since_frame"], state["since_time"] = (
            label,
            result.frame_index,
            result.timestamp,
        )
        if label in config.get("alert_on", []):
            event = {"event": "started", "activity": label}
    return {"activity": state.get("current"), "event": event}


def draw(image, result, output, context):
    if not output or output.get("activity") not in context.config.get("alert_on", []):
        return
    height, width = image.shape[:2]
    cv2.rectangle(image, (0, height - 34), (width, height), (0, 120, 230), -1)
    cv2.putText(
        image,
        f"{output['activity'].upper()}",
        (10, height - 10),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
