"""Benchmark: the device pipeline's throughput as a ratio of the bare model's, side by side.

Bare model: onnxruntime ``session.run`` on already-preprocessed tensors in a loop, the most a
device could do. Pipeline: ``Device`` on the same real video, every frame (``--all-frames``),
with the JSONL sink and the inference function on, nobody watching the streams (the default
state of a device). A second pipeline run has a viewer on both streams. Reports images/s and
ratios as JSON (``benchmarks/results/runtime_pipeline.json``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "videos" / "bottle-detection.mp4"
RESULTS = REPO / "benchmarks" / "results"


def model_package(work: Path) -> Path:
    """The trained TrashNet package from the training benchmark, else the ImageNet model."""
    trained = RESULTS / "trashnet-model"
    if (trained / "manifest.json").is_file():
        return trained
    from lensbox.train.pretrained_package import imagenet_package

    return imagenet_package(work / "imagenet").root


def bare_model_fps(package: Path, frames: list[np.ndarray], seconds: float = 6.0) -> float:
    from lensbox.runtime.engine import Engine

    engine = Engine.open(package)
    tensors = [engine.prepare(f) for f in frames[:64]]
    for t in tensors[:8]:
        engine.run(t)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.run(tensors[n % len(tensors)])
        n += 1
    return n / (time.perf_counter() - start)


def pipeline_fps(
    package: Path,
    work: Path,
    frames: int,
    watch: bool,
    video: Path = VIDEO,
    template: str | None = "trash-sorter",
) -> dict[str, float]:
    from lensbox.projects import init_project
    from lensbox.runtime.device import Device, DeviceOptions

    project = work / f"project-{template}"
    if template and not project.exists():
        init_project(template, project)
    port = 18080 + int(watch)
    options = DeviceOptions(
        model=package,
        source=str(video),
        function=project / "function.py" if template else None,
        results=work / "r.jsonl",
        port=port,
        max_frames=frames,
        realtime=False,
        loop=True,
    )
    device = Device.build(options).start()
    stop = threading.Event()
    viewers = []
    if watch:

        def view(stream: str) -> None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stream/{stream}.mjpg") as r:
                while not stop.is_set() and r.read(65536):
                    pass

        viewers = [
            threading.Thread(target=view, args=(s,), daemon=True) for s in ("device", "project")
        ]
        for v in viewers:
            v.start()
    summary = device.run_until_done()
    stop.set()
    return {"fps": summary["fps"], "frames": summary["frames"], "dropped": summary["dropped"]}


def main() -> int:
    if not VIDEO.is_file():
        print(f"skipped: {VIDEO} is absent (real videos ship as ../shared)", file=sys.stderr)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        package = model_package(work)
        result = compare(package, work, VIDEO, "trash-sorter", frames=1200)
    (RESULTS / "runtime_pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def compare(
    package: Path, work: Path, video: Path, template: str | None, frames: int, rounds: int = 3
) -> dict:
    """Median pipeline/bare ratios over interleaved rounds: this machine is noisy, so each
    pipeline run is compared with the bare model measured right before it."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    sample = []
    while len(sample) < 64:
        ok, frame = capture.read()
        if not ok:
            break
        sample.append(frame)
    capture.release()
    measured = []
    for _ in range(rounds):
        bare = bare_model_fps(package, sample, seconds=4.0)
        watched = pipeline_fps(package, work, frames, watch=True, video=video, template=template)
        quiet = pipeline_fps(package, work, frames, watch=False, video=video, template=template)
        measured.append(
            {
                "bare_model_fps": round(bare, 1),
                "pipeline_watched_fps": watched["fps"],
                "pipeline_quiet_fps": quiet["fps"],
                "watched_vs_bare": round(watched["fps"] / bare, 3),
                "quiet_vs_bare": round(quiet["fps"] / bare, 3),
            }
        )
    return {
        "benchmark": "runtime_pipeline",
        "video": str(video),
        "model": str(package),
        "setup": f"--all-frames, JSONL sink + {template or 'no'} function; watched = a client "
        "on both MJPEG streams",
        "pipeline_watched_vs_bare_median": float(
            np.median([r["watched_vs_bare"] for r in measured])
        ),
        "pipeline_quiet_vs_bare_median": float(np.median([r["quiet_vs_bare"] for r in measured])),
        "rounds": measured,
    }


if __name__ == "__main__":
    sys.exit(main())
