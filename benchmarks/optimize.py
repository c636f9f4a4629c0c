"""Benchmark: INT8 beside FP32 and OpenVINO beside onnxruntime, for every task's model, side
by side in one run (``benchmarks/results/optimize.json``).

For each trained package of the training benchmarks (TrashNet classifier, raccoon detector,
CamVid segmenter): ``lensbox optimize --int8`` calibrated on its own training images (the
guard scores the held-out split recorded at training), then ``lensbox bench`` for FP32 and
INT8 on onnxruntime and OpenVINO, one after another, never two at once. For the classifier:
the bare engine at its best (one session on both cores, and one single-thread session per core
side by side), OpenVINO's parity with onnxruntime on real images, and ``lensbox run
--all-frames`` on the real clip with both streams watched, FP32 then INT8.

Two ceilings are measured too, because the issue's speed targets were set on another CPU: the
classifier with every layer INT8 (no guard; ``--max-drop 1``) at batch 1 and 8, beside FP32,
with the CPU's SIMD flags (INT8 pays most with AVX-512 VNNI, which this machine may lack); and
the core time one frame costs before the model (decode + the device's preprocessing), which
bounds the pipeline's share of the bare engine on a machine whose cores the engine fills.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
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


def simd_flags() -> list[str]:
    """The CPU's vector extensions that decide INT8 and FP32 speed (Linux only)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return []
    flags = next(
        (line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), ""
    )
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    return [flag for flag in flags.split(":")[-1].split() if flag in wanted]


def int8_ceiling(fp32: Path, calibration: Path, work: Path) -> dict[str, object]:
    """Every layer INT8 (no accuracy guard): the most INT8 can give on this CPU."""
    everything = work / "all-int8"
    done = lensbox(
        "optimize", str(fp32), "--int8", "--calibration", str(calibration), "--max-drop", "1",
        "--out", str(everything), "--json",
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    row: dict[str, object] = {"optimize": json.loads(done.stdout)}
    for batch in ("1", "8"):
        speeds = {
            precision: float(bench(package, "--batch", batch)["images_per_second"])  # type: ignore[arg-type]
            for precision, package in (("fp32", fp32), ("all_int8", everything))
        }
        row[f"batch_{batch}"] = {**speeds, "ratio": round(speeds["all_int8"] / speeds["fp32"], 3)}
    return row


def frame_overhead_ms(package: Path, frames: int = 600) -> dict[str, float]:
    """CPU milliseconds per frame for decoding the clip and the device's preprocessing."""
    from lensbox.runtime.engine import Engine
    from lensbox.runtime.sources import open_source

    engine = Engine.open(package)
    source = open_source(str(VIDEO))
    source.open()
    kept: list[np.ndarray] = []  # a few to preprocess; keeping all would time page faults
    decoded = 0
    started = time.process_time()
    while decoded < frames and (frame := source.read()) is not None:
        decoded += 1
        if len(kept) < 64:
            kept.append(frame)
    decode = time.process_time() - started
    source.close()
    started = time.process_time()
    for _ in range(4):
        for frame in kept:
            engine.prepare(frame)
    prepare = (time.process_time() - started) / 4
    return {
        "decode_ms": round(1000 * decode / decoded, 3),
        "prepare_ms": round(1000 * prepare / len(kept), 3),
    }


def pipeline_ceiling(overhead: dict[str, float], bare_best: float, cores: int) -> float:
    """The pipeline's share of the bare engine if everything but decode and preprocessing
    were free: the engine's core time per image over that plus the frame's own."""
    engine_ms = 1000 * cores / bare_best
    return round(engine_ms / (engine_ms + overhead["decode_ms"] + overhead["prepare_ms"]), 3)


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
        result["cpu_simd_flags"] = simd_flags()
        with tempfile.TemporaryDirectory() as tmp:
            result["int8_ceiling"] = int8_ceiling(trash, DATA / "trashnet", Path(tmp))
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
            overhead = frame_overhead_ms(trash)
            result["frame_overhead_per_core"] = overhead
            result["pipeline_ceiling"] = {
                p: pipeline_ceiling(overhead, bare[p]["best"], os.cpu_count() or 1)  # type: ignore[index]
                for p in ("fp32", "int8")
            }
    (RESULTS / "optimize.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
