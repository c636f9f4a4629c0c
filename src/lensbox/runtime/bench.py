"""``lensbox bench``: the bare engine's speed on this machine, without the pipeline around it
(no decoding of video, no drawing, no streams): what the model itself costs on this CPU, so
FP32 and INT8, or onnxruntime and OpenVINO, can be put side by side."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.data.images import IMAGE_EXTENSIONS
from lensbox.errors import ImageError
from lensbox.runtime.engine import Engine


def input_batches(engine: Engine, batch: int, images: Path | None) -> list[np.ndarray]:
    """Batches of the model's input: images from a folder, preprocessed as the device does, or
    (without one) synthetic frames of the camera's noise, preprocessed the same way."""
    spec = engine.manifest.input
    if images is not None:
        import cv2

        files = sorted(p for p in Path(images).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        frames = [f for f in (cv2.imread(str(p)) for p in files[:256]) if f is not None]
        if not frames:
            raise ImageError(f"{images}: no readable images (.jpg, .png, ...) to bench on")
    else:
        rng = np.random.default_rng(0)
        frames = [
            rng.integers(0, 256, (spec.height, spec.width, 3), dtype=np.uint8) for _ in range(8)
        ]
    tensors = [engine.prepare(frame)[0] for frame in frames]
    while len(tensors) < batch:
        tensors += tensors
    return [np.stack(tensors[i : i + batch]) for i in range(0, len(tensors) - batch + 1, batch)]


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, 1)


def bench_engine(
    engine: Engine, batch: int = 1, seconds: float = 10.0, images: Path | None = None
) -> dict[str, Any]:
    """Run the engine back to back for ``seconds`` (after a warm-up) and report its speed."""
    batches = input_batches(engine, batch, images)
    for tensor in batches[:3]:
        engine.run(tensor)  # warm-up: graph set-up and caches, not counted
    latencies: list[float] = []
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds or len(latencies) < 5:
        tensor = batches[i % len(batches)]
        t0 = time.perf_counter()
        engine.run(tensor)
        latencies.append(time.perf_counter() - t0)
        i += 1
    wall = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "model": engine.name,
        "sha256": engine.sha256,
        "backend": engine.backend,
        "precision": engine.manifest.precision,
        "batch": batch,
        "input": str(images) if images else "synthetic",
        "runs": len(latencies),
        "seconds": round(wall, 2),
        "images_per_second": round(len(latencies) * batch / wall, 1),
        "latency_ms": {
            "p50": round(float(np.percentile(ms, 50)), 3),
            "p95": round(float(np.percentile(ms, 95)), 3),
        },
        "peak_rss_mb": peak_rss_mb(),
    }
