"""``lensbox optimize --int8``: quantize, score both models on the same held-out data with the
task's own metric, and write the INT8 package only when the drop is within the allowance."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbox._optional import require
from lensbox.errors import AccuracyDropError, LensboxError
from lensbox.manifest import REPORT_FILE, ModelPackage, load_package, write_package
from lensbox.optimize.calibration import CalibrationSet
from lensbox.optimize.guards import open_guard

GUARDED_TASKS = ("classify", "detect", "segment", "activity")  # scored on labelled data
OTHER_GUARDED = ("drive", "compose")  # scored by laps and by NLL (guards.py)
GROUPS = 8  # runs of consecutive layers tried back in FP32 when INT8 loses too much
MAX_ROUNDS = 3  # at most 3/8 of the layers in FP32: past that, INT8 is not worth keeping
MAX_FP32_SHARE = MAX_ROUNDS / GROUPS


@dataclass
class OptimizeResult:
    out: Path
    metric: str
    fp32: float
    int8: float
    drop: float
    calibration_images: int
    layers_kept_fp32: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out), "metric": self.metric, "fp32": self.fp32, "int8": self.int8,
            "drop": self.drop, "calibration_images": self.calibration_images,
            "layers_kept_fp32": self.layers_kept_fp32, "seconds": round(self.seconds, 1),
        }  # fmt: skip


class Int8Quantizer:
    """Static post-training quantization in QDQ form: per-channel INT8 weights, UINT8
    activations (onnxruntime's x86 recommendation) with MinMax ranges from the calibration
    tensors. The graph is prepared and the ranges measured once; each :meth:`quantize` then
    only rewrites the graph, so trying which layers to keep in FP32 costs seconds."""

    def __init__(self, model_path: Path, calibration: CalibrationSet, input_name: str) -> None:
        self.q = require("onnxruntime.quantization", extra="train")
        self.calibration = calibration
        self.input_name = input_name
        self.work = Path(tempfile.mkdtemp(prefix="lensbox-int8-"))
        self.prepared = self.work / "prepared.onnx"
        self.q.quant_pre_process(str(model_path), str(self.prepared), skip_symbolic_shape=True)
        onnx = require("onnx", extra="train")
        self.layers = [
            n.name for n in onnx.load(str(self.prepared)).graph.node
            if n.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul")
        ]  # fmt: skip

    def quantize(self, keep_fp32: list[str]) -> bytes:
        q = self.q
        tensors = iter(self.calibration.tensors)
        name = self.input_name

        class Reader(q.CalibrationDataReader):  # type: ignore[name-defined]
            def get_next(self) -> dict[str, Any] | None:
                tensor = next(tensors, None)
                return None if tensor is None else {name: tensor}

        out = self.work / "int8.onnx"
        q.quantize_static(
            str(self.prepared), str(out), Reader(), quant_format=q.QuantFormat.QDQ,
            per_channel=True, activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8, calibrate_method=q.CalibrationMethod.MinMax,
            nodes_to_exclude=keep_fp32, calibration_cache_path=str(self.work / "ranges.json"),
        )  # fmt: skip
        return out.read_bytes()

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass
class Candidate:
    onnx_bytes: bytes
    score: float
    keep_fp32: list[str]


def accuracy_aware(
    quantizer: Int8Quantizer,
    score: Callable[[bytes], float],
    fp32: float,
    max_drop: float,
    say: Callable[[str], None],
    sign: float = 1.0,
) -> Candidate:
    """All layers INT8 first; while the drop is over the allowance, keep in FP32 the group of
    layers (one of GROUPS runs of consecutive layers) whose return to FP32 helps most, up to
    MAX_ROUNDS groups (NNCF's accuracy-aware idea, coarse-grained). Returns the best found."""
    onnx_bytes = quantizer.quantize([])
    best = Candidate(onnx_bytes, score(onnx_bytes), [])
    say(f"all layers INT8: {sign * best.score:.4f} (FP32 {sign * fp32:.4f})")
    size = -(-len(quantizer.layers) // GROUPS)
    groups = [quantizer.layers[i : i + size] for i in range(0, len(quantizer.layers), size)]
    allowed = int(MAX_FP32_SHARE * len(quantizer.layers))
    for _ in range(MAX_ROUNDS):
        if fp32 - best.score <= max_drop:
            break
        trials = []
        for group in groups:
            if group[0] in best.keep_fp32 or len(best.keep_fp32) + len(group) > allowed:
                continue
            keep = best.keep_fp32 + group
            onnx_bytes = quantizer.quantize(keep)
            trials.append(Candidate(onnx_bytes, score(onnx_bytes), keep))
        if not trials:
            break
        trial = max(trials, key=lambda c: c.score)
        if trial.score <= best.score:
            break
        best = trial
        kept = f"{len(best.keep_fp32)} of {len(quantizer.layers)} layers kept FP32"
        say(f"{kept}: {sign * best.score:.4f}")
    if best.keep_fp32 and fp32 - best.score <= max_drop:
        best = _return_to_int8(quantizer, score, fp32, max_drop, best, say, sign)
    return best


def _return_to_int8(
    quantizer: Int8Quantizer,
    score: Callable[[bytes], float],
    fp32: float,
    max_drop: float,
    best: Candidate,
    say: Callable[[str], None],
    sign: float = 1.0,
) -> Candidate:
    """Within the layers kept FP32, put each back to INT8 in turn (earliest first: they see
    the largest feature maps, so they cost the most in FP32) and keep every return that stays
    within the allowance."""
    for layer in list(best.keep_fp32):
        keep = [name for name in best.keep_fp32 if name != layer]
        onnx_bytes = quantizer.quantize(keep)
        trial = Candidate(onnx_bytes, score(onnx_bytes), keep)
        if fp32 - trial.score <= max_drop:
            best = trial
    say(
        f"{len(best.keep_fp32)} of {len(quantizer.layers)} layers left FP32: {sign * best.score:.4f}"
    )
    return best


def optimize_int8(
    model: Path,
    calibration_dir: Path | None,
    out: Path,
    eval_dir: Path | None = None,
    max_drop: float = 0.01,
    say: Callable[[str], None] = lambda _: None,
    cache_dir: Path | None = None,
) -> OptimizeResult:
    """Quantize ``model`` and write ``out`` if the held-out metric drops by <= ``max_drop``
    (absolute, as a fraction: 0.01 is one point); else AccuracyDropError with both figures.
    Drive models are judged by their laps and inpainting composers by their NLL (guards.py);
    for those, ``calibration_dir`` may also be ``sim:TRACK`` (drive) or anything (compose:
    the training pieces calibrate). ``cache_dir`` keeps music21's parsed chorales for a composer
    trained on Bach; without one they are parsed afresh."""
    started = time.perf_counter()
    package = load_package(model)
    manifest = package.manifest
    if manifest.task not in GUARDED_TASKS + OTHER_GUARDED:
        raise LensboxError(
            f"{model}: a {manifest.task} model has no metric to guard INT8 with yet; optimize "
            f"takes {', '.join(GUARDED_TASKS + OTHER_GUARDED)} models"
        )
    if manifest.precision == "int8":
        raise LensboxError(f"{model}: is INT8 already; optimize its FP32 package")
    staging = Path(tempfile.mkdtemp(prefix="lensbox-int8-package-"))
    quantizer = None
    try:
        with open_guard(package, str(model), calibration_dir, eval_dir, cache_dir) as guard:
            calibration, metric, sign = guard.calibration, guard.metric, guard.sign
            for line in calibration.skipped:
                say(line)
            source = calibration_dir or "the training pieces"
            say(f"calibrating on {len(calibration)} inputs from {source}")
            quantizer = Int8Quantizer(package.model_path, calibration, manifest.input.name)
            say(f"scoring on {guard.evaluated_on}")

            def score(onnx_bytes: bytes) -> float:
                return guard.score(_write_int8(package, staging / out.name, onnx_bytes, {}).root)

            signed_fp32 = guard.score(package.root)
            best = accuracy_aware(quantizer, score, signed_fp32, max_drop, say, sign)
        fp32, int8 = round(sign * signed_fp32, 4), round(sign * best.score, 4)
        drop = round(signed_fp32 - best.score, 4)  # how much worse, whichever way is better
        if drop > max_drop:
            raise AccuracyDropError(
                f"{model}: INT8 {metric} {int8:.4f} vs FP32 {fp32:.4f} (worse by {drop:.4f} > "
                f"--max-drop {max_drop}); nothing written: calibrate on more inputs like the "
                "device's, or keep FP32"
            )
        record = {
            "method": "onnxruntime static QDQ, per-channel INT8 weights, UINT8 activations",
            "calibration_sha256": calibration.sha256,
            "calibration_images": len(calibration),
            "metric": metric,
            "fp32": fp32,
            "int8": int8,
            "drop": drop,
            "max_drop": max_drop,
            "evaluated_on": guard.evaluated_on,
            "layers": len(quantizer.layers),
            "layers_kept_fp32": best.keep_fp32,
            "from_sha256": manifest.sha256,
        }
        result = _write_int8(package, out, best.onnx_bytes, record)
    finally:
        if quantizer is not None:
            quantizer.close()
        shutil.rmtree(staging, ignore_errors=True)
    return OptimizeResult(
        result.root, metric, fp32, int8, drop, len(calibration), len(best.keep_fp32),
        time.perf_counter() - started,
    )  # fmt: skip


def _write_int8(
    package: ModelPackage, out: Path, onnx_bytes: bytes, record: dict[str, Any]
) -> ModelPackage:
    """The INT8 package: the same manifest (labels, input, decoding, training metrics) with
    precision, the optimizer's record and the new model.onnx's checksum; extra files copied."""
    extra = {name: (package.root / name).read_bytes() for name in package.manifest.files}
    manifest = package.manifest.model_copy(
        update={"name": out.name, "precision": "int8", "optimization": record}
    )
    written = write_package(out, onnx_bytes, manifest, extra)
    report = package.root / REPORT_FILE
    if report.is_file():
        shutil.copyfile(report, out / REPORT_FILE)
    return written
