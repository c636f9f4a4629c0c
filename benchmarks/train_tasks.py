"""Benchmark: detection, segmentation and activity recognition on the real data in ../shared.

For each task, with the CLI's defaults: wall time and peak memory to train, the held-out
metric, the ONNX parity figure, and the device pipeline's throughput as a ratio of the bare
model's on a real video (interleaved rounds, see runtime_pipeline.py).

* detect: raccoon, train split (160 images) -> mAP on its test split (40 images)
* segment: CamVid train + val, ``--ignore-index 11`` -> mIoU on its test images here
* activity: scenes; a segment-grouped estimate (train on segments numbered 0 mod 3, score
  the clips of segments numbered 1 mod 3, never a clip of a training segment), then the
  shipped model on all clips

Usage: ``python benchmarks/train_tasks.py [detect] [segment] [activity]`` (default: all).
Writes ``benchmarks/results/tasks.json`` and keeps the packages in ``benchmarks/results/``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO / "benchmarks"))


def _timed(args: list[str]) -> tuple[dict, float, float]:
    """Run a CLI command; returns its JSON, wall seconds and its peak RSS in GB."""
    import resource

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lensbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest child so far
    if proc.returncode != 0:
        raise SystemExit(f"lensbox {' '.join(args)} failed:\n{stderr[-3000:]}")
    return json.loads(stdout), wall, usage.ru_maxrss / 1e6


def _evaluate(model: Path, data: Path, *extra: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "lensbox", "evaluate", str(model), str(data), "--json", *extra],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout)


def _ratio(model: Path, video: Path, template: str) -> dict:
    from runtime_pipeline import compare

    with tempfile.TemporaryDirectory() as tmp:
        return compare(model, Path(tmp), video, template, frames=600)


def detect() -> dict:
    model = RESULTS / "raccoon-detector"
    data = DATA / "detection" / "raccoon"
    summary, wall, rss = _timed(
        ["train", str(data), "--task", "detect", "--out", str(model), "--json"]
    )
    scored = _evaluate(model, data, "--split", "test")
    return {
        "data": str(data),
        "train_seconds": round(wall, 1),
        "peak_rss_gb": round(rss, 2),
        "map50": scored["map50"],
        "map50_95": scored["map50_95"],
        "n_test_images": scored["n_images"],
        "parity_max_abs_diff": summary["parity_max_abs_diff"],
        "runtime": _ratio(
            model, DATA / "videos" / "one-by-one-person-detection.mp4", "people-counter"
        ),
    }


def segment() -> dict:
    model = RESULTS / "camvid-segmenter"
    data = DATA / "segmentation" / "camvid"
    summary, wall, rss = _timed(
        [
            "train",
            str(data),
            "--task",
            "segment",
            "--ignore-index",
            "11",
            "--out",
            str(model),
            "--json",
        ]
    )
    scored = _evaluate(model, data, "--split", "test", "--ignore-index", "11")
    return {
        "data": str(data),
        "train_seconds": round(wall, 1),
        "peak_rss_gb": round(rss, 2),
        "miou": scored["miou"],
        "pixel_accuracy": scored["pixel_accuracy"],
        "per_class_iou": scored["per_class_iou"],
        "n_test_images": scored["n_images"],
        "parity_max_abs_diff": summary["parity_max_abs_diff"],
        "runtime": _ratio(model, DATA / "videos" / "car-detection.mp4", "road-watch"),
    }


def _segment_numbers(scenes: Path) -> dict[str, int]:
    """Clip file -> the number of its segment within its (video, label), as DATA.md counts."""
    counters: dict[tuple[str, str], int] = {}
    numbers = {}
    with open(scenes / "segments.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        key = (row["video"], row["label"])
        number = counters.get(key, 0)
        counters[key] = number + 1
        start, end = int(row["start_frame"]), int(row["end_frame"])
        for clip in (scenes / row["label"]).glob(f"{Path(row['video']).stem}_*.mp4"):
            first = int(clip.stem.rsplit("_", 1)[1])
            if start <= first <= end:
                numbers[str(clip)] = number
    return numbers


def activity() -> dict:
    scenes = DATA / "activity" / "scenes"
    numbers = _segment_numbers(scenes)
    with tempfile.TemporaryDirectory() as tmp:
        split = {"train": Path(tmp) / "train", "test": Path(tmp) / "test"}
        for clip, number in numbers.items():
            side = "train" if number % 3 == 0 else "test"
            target = split[side] / Path(clip).parent.name / Path(clip).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(clip)
        estimate_model = Path(tmp) / "model"
        _timed(
            [
                "train",
                str(split["train"]),
                "--task",
                "activity",
                "--out",
                str(estimate_model),
                "--json",
            ]
        )
        estimate = _evaluate(estimate_model, split["test"])
    model = RESULTS / "scenes-activity"
    summary, wall, rss = _timed(
        ["train", str(scenes), "--task", "activity", "--out", str(model), "--json"]
    )
    return {
        "data": str(scenes),
        "train_seconds": round(wall, 1),
        "peak_rss_gb": round(rss, 2),
        "grouped_estimate": {
            "accuracy": estimate["accuracy"],
            "n_clips": estimate["n_clips"],
            "per_class": {k: v["recall"] for k, v in estimate["per_class"].items()},
            "confusion_matrix": estimate["confusion_matrix"],
            "labels": estimate["labels"],
        },
        "parity_max_abs_diff": summary["parity_max_abs_diff"],
        "runtime": _ratio(model, DATA / "videos" / "bottle-detection.mp4", "activity-alert"),
    }


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (real data ships as ../shared)", file=sys.stderr)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:] or ["detect", "segment", "activity"]
    path = RESULTS / "tasks.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for name in wanted:
        results[name] = {"detect": detect, "segment": segment, "activity": activity}[name]()
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({name: results[name]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
