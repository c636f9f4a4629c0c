"""The racer's sections of ``report.html``: what DeepRacer's console and the community's
log-analysis notebooks show. The reward graph (reward and progress per episode while the
teacher learns, the student's DAgger iterations), the time-trial laps, and the track seen from
above with the teacher's positions coloured by the reward they earned and by the action taken.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np

from lensbox.manifest import ModelManifest
from lensbox.racer.track import Track
from lensbox.train.report import png_base64, pyplot

Section = Callable[[ModelManifest, list[dict[str, Any]]], str]


def reward_graph(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
    episodes = [h for h in history if h.get("stage") == "teacher"]
    if not episodes:
        return ""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    x = [h["timesteps"] for h in episodes]
    for axis, key, title in (
        (axes[0], "reward", "Training reward per episode"),
        (axes[1], "progress", "Training progress per episode (%)"),
    ):
        values = np.array([h[key] for h in episodes], dtype=float)
        axis.plot(x, values, ".", alpha=0.25, markersize=3)
        window = max(1, len(values) // 30)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        axis.plot(x[window - 1 :], smooth, "-", linewidth=2)
        axis.set(title=title, xlabel="steps")
        axis.grid(alpha=0.3)
    encoded = png_base64(figure)
    plt.close(figure)
    students = [h for h in history if h.get("stage") == "student"]
    rows = "".join(
        f"<tr><td>{h['iteration']}</td><td>{h['teacher_share']}</td><td>{h['frames']}</td>"
        f"<td>{h['laps']}</td><td>{h['loss']}</td><td>{_selection(h)}</td>"
        f"<td>{h['seconds']}</td></tr>"
        for h in students
    )
    return (
        "<h2>Reward graph</h2><img alt='reward graph' "
        f"src='data:image/png;base64,{encoded}'>"
        "<h2>Camera student (DAgger)</h2><table><tr><th>iteration</th><th>teacher share</th>"
        "<th>frames</th><th>laps driven</th><th>loss</th><th>clean selection laps</th>"
        f"<th>seconds</th></tr>{rows}</table>"
    )


def _selection(row: dict[str, Any]) -> str:
    """An object race's selection laps, and which iteration was packaged."""
    if "selection_clean_laps" not in row:
        return ""
    return f"{row['selection_clean_laps']}" + (" (packaged)" if row.get("kept") else "")


def lap_table(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
    laps = manifest.metrics.get("laps") or []
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{lap['time_s']}</td><td>{lap['progress']}</td>"
        f"<td>{lap['off_track']}</td><td>{lap['crashes']}</td></tr>"
        for i, lap in enumerate(laps)
    )
    where = html.escape(str(manifest.metrics.get("evaluated_on", "")))
    return (
        f"<h2>Time trial ({where}, camera policy in onnxruntime)</h2><table><tr><th>lap</th>"
        f"<th>time (s)</th><th>progress (%)</th><th>off-track</th><th>crashes</th></tr>{rows}"
        "</table>"
    )


def track_maps(track: Track, samples: list[dict[str, float]]) -> Section:
    def section(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
        if not samples:
            return ""
        plt = pyplot()
        figure, axes = plt.subplots(1, 2, figsize=(12, 4.6))
        points = np.array([[s["x"], s["y"]] for s in samples])
        for axis, key, title, cmap in (
            (axes[0], "reward", "Reward earned", "viridis"),
            (axes[1], "steering", "Steering commanded (deg, + = left)", "coolwarm"),
        ):
            for column in (2, 4):
                edge = np.vstack([track.waypoints[:, column : column + 2]])
                axis.plot(edge[:, 0], edge[:, 1], "k-", linewidth=1)
            values = np.array([s[key] for s in samples])
            scatter = axis.scatter(points[:, 0], points[:, 1], c=values, s=4, cmap=cmap)
            figure.colorbar(scatter, ax=axis, shrink=0.8)
            axis.set(title=title, aspect="equal")
            axis.axis("off")
        encoded = png_base64(figure)
        plt.close(figure)
        return (
            "<h2>Track map</h2><p>The teacher's positions during training, coloured by the "
            "reward your function paid and by the steering it chose.</p>"
            f"<img alt='track maps' src='data:image/png;base64,{encoded}'>"
        )

    return section


def racer_sections(
    track: Track, samples: list[dict[str, float]] | None = None
) -> tuple[Section, ...]:
    return (reward_graph, lap_table, track_maps(track, samples or []))
