"""Live pipeline statistics: throughput, latency percentiles, drops, state. Thread-safe."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np


class PipelineStats:
    """Counters for /health, /metrics and ``--stats``; fps over a sliding window."""

    def __init__(self, window: int = 240) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.frames = 0
        self.dropped = 0
        self.function_errors = 0
        self.sink_errors: dict[str, int] = {}
        self.reconnects = 0
        self.state = "starting"
        self._latency_ms: deque[float] = deque(maxlen=2048)
        self._stage_ms: dict[str, deque[float]] = {}
        self._times: deque[float] = deque(maxlen=window)
        self._first: float | None = None
        self._last: float | None = None

    def record(self, latency_ms: float, timings_ms: dict[str, float]) -> None:
        now = time.monotonic()
        with self._lock:
            self.frames += 1
            self._latency_ms.append(latency_ms)
            for stage, value in timings_ms.items():
                self._stage_ms.setdefault(stage, deque(maxlen=512)).append(value)
            self._times.append(now)
            self._first = self._first or now
            self._last = now

    def drop(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def sink_failed(self, name: str) -> None:
        with self._lock:
            self.sink_errors[name] = self.sink_errors.get(name, 0) + 1

    def set_state(self, state: str) -> None:
        with self._lock:
            if state == "reconnecting" and self.state != "reconnecting":
                self.reconnects += 1
            self.state = state

    def fps(self) -> float:
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def overall_fps(self) -> float:
        with self._lock:
            if self._first is None or self._last is None or self.frames < 2:
                return 0.0
            span = self._last - self._first
            return (self.frames - 1) / span if span > 0 else 0.0

    def snapshot(self) -> dict[str, Any]:
        fps = self.fps()
        with self._lock:
            latency = np.array(self._latency_ms) if self._latency_ms else np.zeros(1)
            stages = {
                k: round(float(np.median(np.array(v))), 3) for k, v in self._stage_ms.items() if v
            }
            return {
                "state": self.state,
                "frames": self.frames,
                "fps": round(fps, 2),
                "dropped": self.dropped,
                "latency_ms": {
                    "p50": round(float(np.percentile(latency, 50)), 3),
                    "p95": round(float(np.percentile(latency, 95)), 3),
                },
                "stage_ms_p50": stages,
                "function_errors": self.function_errors,
                "sink_errors": dict(self.sink_errors),
                "reconnects": self.reconnects,
                "uptime_s": round(time.monotonic() - self.started, 1),
            }
