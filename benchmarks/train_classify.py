"""Benchmark: train the trash sorter's classifier on real TrashNet photos with defaults.

Reports wall time, peak RSS, validation accuracy, and evaluation throughput of onnxruntime vs
PyTorch eager measured side by side on the same preprocessed images, as JSON
(``benchmarks/results/train_classify.json`` and stdout).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRASHNET = REPO.parent / "shared" / "data" / "trashnet"
RESULTS = REPO / "benchmarks" / "results"


def throughput(run, batches: list[np.ndarray], repeats: int = 2) -> float:
    run(batches[0])  # warm up
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        n = 0
        for batch in batches:
            run(batch)
            n += len(batch)
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> int:
    if not TRASHNET.is_dir():
        print(
            f"skipped: {TRASHNET} is absent (real TrashNet data ships as ../shared)",
            file=sys.stderr,
        )
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "trashnet-model"
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lensbox",
            "train",
            str(TRASHNET),
            "--task",
            "classify",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        return proc.returncode
    summary = json.loads(proc.stdout)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    import torch

    from lensbox.data.images import load_rgb
    from lensbox.manifest import load_package
    from lensbox.preprocess import to_tensor
    from lensbox.runtime.engine import Engine
    from lensbox.train.classify import build_classifier

    package = load_package(out)
    manifest = package.manifest
    paths = sorted(TRASHNET.glob("*/*.jpg"))[::7][:128]
    tensors = np.stack([to_tensor(load_rgb(p), manifest.input) for p in paths])
    engine = Engine.open(out)
    checkpoint = torch.load(out / "checkpoints" / "best.pt", map_location="cpu", weights_only=False)
    model = build_classifier(len(manifest.labels), checkpoint["recipe"]["frozen_blocks"])
    model.load_state_dict(checkpoint["extra"]["best_model"])
    model.eval()
    torch.set_num_threads(os.cpu_count() or 1)

    def torch_run(batch: np.ndarray) -> None:
        with torch.inference_mode():
            model(torch.from_numpy(batch))

    figures = {}
    for size in (1, 32):
        batches = [tensors[i : i + size] for i in range(0, len(tensors), size)]
        ort_ips = throughput(engine.run, batches)
        torch_ips = throughput(torch_run, batches)
        figures[f"batch{size}"] = {
            "onnxruntime_images_per_second": round(ort_ips, 1),
            "pytorch_eager_images_per_second": round(torch_ips, 1),
            "onnxruntime_vs_pytorch": round(ort_ips / torch_ips, 2),
        }
    result = {
        "benchmark": "train_classify",
        "data": str(TRASHNET),
        "train_wall_seconds": round(wall, 1),
        "train_peak_rss_mb": round(peak_rss_mb, 1),
        "val_accuracy": summary["val_accuracy"],
        "val_macro_f1": summary["val_macro_f1"],
        "parity_max_abs_diff": summary["parity_max_abs_diff"],
        "n_images_throughput": len(tensors),
        "evaluation_throughput": figures,
        "cpu_count": os.cpu_count(),
    }
    (RESULTS / "train_classify.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
