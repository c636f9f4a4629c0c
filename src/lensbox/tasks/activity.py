"""Activity recognition on video: what is happening over the last second or two.

A package holds two graphs. ``model.onnx`` turns one frame into an embedding (the pretrained
backbone, pooled); ``head.onnx`` turns a window of the last ``T`` embeddings into activity
logits. Why split: the device pays one backbone pass per frame, and frames can still be
inferred in parallel, because only the tiny head (run in frame order here, on the output
thread) needs the window. The window lives in the engine's state, so a swapped model starts a
fresh one.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.data.layout import Layout, register_layout
from lensbox.tasks._base import EngineLike, Evaluator, Task, register_evaluator, register_task
from lensbox.tasks._labels import refuse_unknown
from lensbox.tasks.classify import classification_metrics, softmax

HEAD_FILE = "head.onnx"


class ActivityState:
    """The sliding window of frame embeddings and the session that classifies it."""

    def __init__(self, head: Any, window: int) -> None:
        self.head = head
        self.window: deque[np.ndarray] = deque(maxlen=window)
        self.size = window
        self.lock = threading.Lock()

    def push(self, embedding: np.ndarray) -> np.ndarray:
        """Add one embedding and return the (1, T, D) window, padded with its oldest frame
        until T frames have been seen."""
        with self.lock:
            self.window.append(np.asarray(embedding, dtype=np.float32).reshape(-1))
            frames = list(self.window)
        frames = [frames[0]] * (self.size - len(frames)) + frames
        return np.stack(frames)[None]

    def classify(self, windows: np.ndarray) -> np.ndarray:
        """(N, T, D) windows -> (N, C) probabilities."""
        logits = self.head.run(None, {"window": windows.astype(np.float32)})[0]
        return softmax(np.asarray(logits))


def open_head(package: Any) -> ActivityState:
    from lensbox._optional import require
    from lensbox.errors import PackageError

    ort = require("onnxruntime", extra="runtime")
    path = Path(package.root) / HEAD_FILE
    if not path.is_file():
        raise PackageError(
            f"{package.root}: an activity package needs {HEAD_FILE} beside model.onnx"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return ActivityState(session, int(package.manifest.task_params.get("window", 16)))


def ranked(probabilities: np.ndarray, labels: list[str]) -> dict[str, Any]:
    best = int(np.argmax(probabilities))
    return {
        "label": labels[best],
        "score": round(float(probabilities[best]), 4),
        "scores": {labels[i]: round(float(p), 4) for i, p in enumerate(probabilities)},
    }


def embed_frames(engine: EngineLike, frames: list[np.ndarray], batch: int = 16) -> np.ndarray:
    """RGB frames -> (F, D) embeddings with the package's backbone."""
    from lensbox.preprocess import to_batch

    parts = [
        engine.run(to_batch(frames[i : i + batch], engine.manifest.input, "rgb"))[0]
        for i in range(0, len(frames), batch)
    ]
    return np.concatenate(parts).reshape(len(frames), -1)


def windows_of(embeddings: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Every ``stride``-th window of ``size`` consecutive frames; a short clip is padded with
    its first frame, as the device pads its window while it fills."""
    if len(embeddings) < size:
        pad = np.repeat(embeddings[:1], size - len(embeddings), axis=0)
        return np.concatenate([pad, embeddings])[None]
    starts = range(0, len(embeddings) - size + 1, max(1, stride))
    return np.stack([embeddings[s : s + size] for s in starts])


def classify_clip(engine: EngineLike, frames: list[np.ndarray]) -> dict[str, Any]:
    """A whole clip: the mean of its sliding windows' probabilities."""
    state: ActivityState = engine.state
    embeddings = embed_frames(engine, frames)
    windows = windows_of(embeddings, state.size, max(1, state.size // 4))
    probabilities = state.classify(windows).mean(axis=0)
    return {
        **ranked(probabilities, engine.manifest.labels),
        "n_frames": len(frames),
        "n_windows": len(windows),
    }


class ActivityTask(Task):
    name = "activity"
    description = "activity recognition: what happens over a sliding window of video frames"

    def new_state(self, package: Any) -> ActivityState:
        return open_head(package)

    def decode(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        # Without a stream there is no window: one frame is not an activity.
        return [{"label": None, "score": 0.0, "window_frames": 0} for _ in outputs[0]]

    def decode_frame(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int], state: Any
    ) -> dict[str, Any]:
        window = state.push(outputs[0][0])
        probabilities = state.classify(window)[0]
        return {
            **ranked(probabilities, manifest.labels),
            "window_frames": len(state.window),
            "ready": len(state.window) >= state.size,
        }

    def predict_file(self, engine: EngineLike, path: Path) -> dict[str, Any]:
        from lensbox.data.clips import VIDEO_EXTENSIONS, read_frames
        from lensbox.errors import ImageError

        if path.suffix.lower() not in VIDEO_EXTENSIONS:
            raise ImageError(f"{path}: activity models take video clips (MP4/AVI/MKV)")
        frames = read_frames(path)
        if not frames:
            raise ImageError(f"{path}: no decodable frame; re-encode the clip")
        return classify_clip(engine, frames)

    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: Any) -> None:
        import cv2

        from lensbox.draw import label_box

        if payload.get("label") is None:
            return
        text = f"{payload['label']} {payload['score']:.2f}"
        if not payload.get("ready", True):
            text += f" (window {payload['window_frames']})"
        label_box(image, text, (10, 10))
        bar_w = max(60, image.shape[1] // 5)
        y = 10 + max(30, image.shape[0] // 14)
        for name, score in sorted(payload["scores"].items(), key=lambda kv: -kv[1])[:5]:
            cv2.rectangle(image, (10, y), (10 + int(bar_w * score), y + 8), (60, 200, 60), -1)
            cv2.putText(
                image,
                name,
                (16 + bar_w, y + 9),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
            y += 16

    def summary(self, payload: dict[str, Any]) -> str:
        if payload.get("label") is None:
            return "no activity (a single frame)"
        return ", ".join(
            f"{k} {v:.3f}" for k, v in sorted(payload["scores"].items(), key=lambda kv: -kv[1])[:3]
        )

    def check_data(self, root: Path) -> Any:
        from lensbox.data.clips import scan_clips

        return scan_clips(root)


def evaluate_activity(engine: EngineLike, root: Path) -> dict[str, Any]:
    """Clip accuracy and per-class precision/recall: each clip scored on all its windows."""
    from lensbox.data.clips import read_frames, scan_clips
    from lensbox.errors import DataError

    labels = engine.manifest.labels
    report = scan_clips(root)
    if not report.clips:
        raise DataError(f"{root}: no readable clips to evaluate on")
    refuse_unknown(root, report.labels, labels, "label folder(s)")
    y_true, y_pred, clips = [], [], []
    for clip in report.clips:
        outcome = classify_clip(engine, read_frames(clip.path))
        y_true.append(labels.index(report.labels[clip.label]))
        y_pred.append(labels.index(outcome["label"]))
        clips.append({"path": str(clip.path), "label": report.labels[clip.label], **outcome})
    metrics = classification_metrics(np.array(y_true), np.array(y_pred), labels)
    return {
        **metrics,
        "n_clips": len(clips),
        "clips": clips,
        "skipped": [p.to_dict() for p in report.problems],
    }


def looks_like_clips(root: Path) -> bool:
    from lensbox.data.clips import VIDEO_EXTENSIONS

    for folder in (p for p in root.iterdir() if p.is_dir()):
        if any(f.suffix.lower() in VIDEO_EXTENSIONS for f in folder.iterdir() if f.is_file()):
            return True
    return False


register_task(ActivityTask())
register_evaluator(
    Evaluator(task="activity", run=evaluate_activity, headline=("accuracy",), unit="clips")
)
register_layout(Layout("activity", looks_like_clips, 30, "one subfolder of video clips per label"))
