"""Road watch: alert when a watched class covers more than its share of the frame.

Runs on the device after every segmentation result. "watch" in project.json maps a class name
to the share of the frame (0..1) above which it alerts; an alert needs "min_frames" frames in a
row, so one noisy frame does not fire it.
"""

from __future__ import annotations

import cv2


def process(result, context):
    fractions = result.payload["class_fractions"]
    watch = context.config.get("watch", {})
    need = int(context.config.get("min_frames", 3))
    streaks = context.state.setdefault("streaks", {})
    alerts = []
    for name, limit in watch.items():
        share = float(fractions.get(name, 0.0))
        streaks[name] = streaks.get(name, 0) + 1 if share > float(limit) else 0
        if streaks[name] >= need:
            alerts.append({"class": name, "share": round(share, 4), "limit": limit})
    return {"alerts": alerts, "alert": bool(alerts)}


def draw(image, result, output, context):
    if not output or not output["alerts"]:
        return
    height, width = image.shape[:2]
    text = "ALERT: " + ", ".join(f"{a['class']} {a['share']:.0%}" for a in output["alerts"])
    cv2.rectangle(image, (0, height - 34), (width, height), (0, 0, 200), -1)
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
