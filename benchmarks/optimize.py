"""Benchmark: INT8 beside FP32 and OpenVINO beside onnxruntime, for every task's model, side
by side in one run (``benchmarks/results/optimize.json``).

For each trained package of the training benchmarks (TrashNet classifier, raccoon detector,
CamVid segmenter): ``lensbox optimize --int8`` calibrated on its own training images (the
guard scores the held-out split recorded at training), then ``lensbox bench`` for FP32 and
INT8 on onnxruntime and OpenVINO, one after another, never two at once. For the classifier:
the bare engine at its best (one session on both cores, and one single-thread session per core
side by side), OpenVINO's parity with onnxruntime on real images, and ``lensbox run
--all-frames`` on the real clip with both streams watched, FP32 then INT8.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime_pipeline import VIDEO, pipeline_fps

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATA = REPO.parent / "shared" / "data"
MODELS = [  # (trained package, calibration images, allowed drop)
    ("trashnet-model", DATA / "trashnet", 0.01),
    ("raccoon-detector", DATA / "detection" / "raccoon" / "images", 0.02),
    ("camvid-segmenter", DATA / "segmentation" / "camvid" / "train", 0.02),
]


def lensbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lensbox", *args], capture_output=True, text=True, timeout=3600
    )


def bench(package: Path, *flags: str) -> dict[str, object]:
    done = lensbox("bench", str(package), "--seconds", "8", "--json", *flags)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(done.stdout))


def best_bare(package: Path) -> dict[str, float]:
    """The higher of one session on all cores and one single-thread session per core."""
    one = float(bench(package)["images_per_second"])  # type: ignore[arg-type]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lensbox",
                "bench",
                str(package),
                "--seconds",
                "8",
                "--threads",
                "1",
                "--json",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    per_core = sum(json.loads(p.communicate()[0])["images_per_second"] for p in procs)
    return {"one_session": one, "session_per_core": round(per_core, 1), "best": max(one, per_core)}


def openvino_parity(package: Path, images: Path) -> float:
    import cv2

    from lensbox.runtime.engine import Engine

    ort, ov = Engine.open(package, backend="onnxruntime"), Engine.open(package, backend="openvino")
    worst = 0.0
    for path in sorted(images.rglob("*.jpg"))[::20]:
        tensor = ort.prepare(cv2.imread(str(path)))
        worst = max(worst, float(np.abs(ort.run(tensor)[0] - ov.run(tensor)[0]).max()))
    return worst


def main() -> int:
    rows = []
    for name, calibration, max_drop in MODELS:
        fp32 = RESULTS / name
        if not (fp32 / "manifest.json").is_file() or not calibration.is_dir():
            rows.append({"model": name, "skipped": "run the training benchmarks first"})
            continue
        int8 = RESULTS / f"{name}-int8"
        done = lensbox(
            "optimize", str(fp32), "--int8", "--calibration", str(calibration),
            "--max-drop", str(max_drop), "--out", str(int8), "--json",
        )  # fmt: skip
        row: dict[str, object] = {"model": name, "max_drop": max_drop}
        if done.returncode == 0:
            row["optimize"] = json.loads(done.stdout)
        else:
            row["refused"] = done.stderr.strip().splitlines()[-1]
        row["bench"] = {
            f"{precision}-{backend}": bench(package, "--backend", backend)
            for precision, package in (("fp32", fp32), ("int8", int8))
            if (package / "manifest.json").is_file()
            for backend in ("onnxruntime", "openvino")
        }
        rows.append(row)
    result: dict[str, object] = {"benchmark": "optimize", "models": rows}
    trash, trash8 = RESULTS / "trashnet-model", RESULTS / "trashnet-model-int8"
    if (trash8 / "manifest.json").is_file():
        result["classifier_bare_at_best"] = {"fp32": best_bare(trash), "int8": best_bare(trash8)}
        result["openvino_max_abs_diff"] = openvino_parity(trash, DATA / "trashnet")
        if VIDEO.is_file():
            with tempfile.TemporaryDirectory() as tmp:
                fps = {
                    precision: pipeline_fps(package, Path(tmp), 1200, watch=True)["fps"]
                    for precision, package in (("fp32", trash), ("int8", trash8))
                }
            result["run_all_frames_watched_fps"] = {
                **fps,
                "int8_vs_fp32": round(fps["int8"] / fps["fp32"], 3),
            }
            bare = result["classifier_bare_at_best"]
            result["pipeline_vs_bare_at_best"] = {
                p: round(fps[p] / bare[p]["best"], 3)
                for p in ("fp32", "int8")  # type: ignore[index]
            }
    (RESULTS / "optimize.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
