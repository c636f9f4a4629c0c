"""Driving: a camera frame in, the action a DeepRacer car should take out.

``model.onnx`` maps one 160x120 grayscale frame to action scores: one logit per action of a
discrete action space, or (steering, speed) for a continuous one. The action space, in
DeepRacer's ``model_metadata.json`` form, is in the manifest's ``task_params``. On a device the
result's ``action`` goes to a motor controller (or, with ``--source sim:TRACK``, to the
simulated car); the project stream shows the steering and speed over the camera view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lensbox.errors import DataError
from lensbox.tasks._base import Task, register_task
from lensbox.tasks.classify import softmax


def decode_action(scores: np.ndarray, action_space: dict[str, Any]) -> dict[str, Any]:
    """One frame's raw output -> the action to take, with its confidence."""
    space = action_space.get("action_space")
    if isinstance(space, list):
        probabilities = softmax(np.asarray(scores, dtype=np.float32).reshape(-1))
        index = int(np.argmax(probabilities))
        chosen = space[index]
        return {
            "action": {
                "steering_angle": float(chosen["steering_angle"]),
                "speed": float(chosen["speed"]),
                "index": index,
            },
            "score": round(float(probabilities[index]), 4),
        }
    assert isinstance(space, dict)
    steering, speed = (float(v) for v in np.asarray(scores).reshape(-1)[:2])
    low_s, high_s = space["steering_angle"]["low"], space["steering_angle"]["high"]
    low_v, high_v = space["speed"]["low"], space["speed"]["high"]
    return {
        "action": {
            "steering_angle": round(min(max(steering, low_s), high_s), 3),
            "speed": round(min(max(speed, low_v), high_v), 3),
        },
        "score": 1.0,
    }


class DriveTask(Task):
    name = "drive"
    description = "driving: a camera frame in, a DeepRacer action (steering, speed) out"
    trained_by = "lensbox racer train"

    def decode(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        space = manifest.task_params.get("action_space", {})
        return [decode_action(row, space) for row in np.asarray(outputs[0])]

    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: Any) -> None:
        import cv2

        from lensbox.draw import label_box

        action = payload["action"]
        height, width = image.shape[:2]
        centre = (width // 2, height - 4)
        angle = np.radians(90 + action["steering_angle"])
        length = height * 0.25 * (0.5 + action["speed"] / 4)
        tip = (int(centre[0] + length * np.cos(angle)), int(centre[1] - length * np.sin(angle)))
        cv2.arrowedLine(image, centre, tip, (40, 220, 255), max(1, width // 120), cv2.LINE_AA)
        label_box(image, f"{action['steering_angle']:+.0f} deg {action['speed']:.1f} m/s", (4, 4))

    def summary(self, payload: dict[str, Any]) -> str:
        action = payload["action"]
        return (
            f"steer {action['steering_angle']:+.1f} deg, {action['speed']:.2f} m/s "
            f"({payload['score']:.2f})"
        )

    def check_data(self, root: Path) -> Any:
        raise DataError(
            f"{root}: a drive model learns in the simulator, not from a dataset; "
            "use lensbox racer train --track T --reward FILE.py"
        )


register_task(DriveTask())
