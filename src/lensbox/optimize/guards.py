"""What INT8 is judged by, per task: an image model by its task's own metric on labelled
held-out data, a drive model by its laps, an inpainting composer by its NLL on the chorales it
never trained on. Each guard also makes the calibration tensors, from the inputs that model
really sees."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.errors import LensboxError
from lensbox.manifest import ModelPackage
from lensbox.optimize.calibration import MAX_IMAGES, CalibrationSet, load_calibration
from lensbox.optimize.heldout import heldout_target

TRIAL_LAPS = 3
SIM_PREFIX = "sim:"


@dataclass
class Guard:
    metric: str
    calibration: CalibrationSet
    score: Callable[[Path], float]  # a package folder -> the metric, higher is better
    sign: float  # +1, or -1 for a metric where lower is better (scored negated)
    evaluated_on: str


def open_guard(
    package: ModelPackage,
    source: str,
    calibration: Path | None,
    eval_dir: Path | None,
    cache_dir: Path | None,
) -> AbstractContextManager[Guard]:
    """The guard for ``package``'s task; a labelled held-out split lives while it is open."""
    task = package.manifest.task
    if task == "compose":  # calibrates on its training pieces
        return nullcontext(compose_guard(package, cache_dir))
    if calibration is None:
        wanted = "sim:TRACK or a folder of camera frames" if task == "drive" else "DIR"
        raise LensboxError(
            f"--int8 needs --calibration {wanted}: the inputs the device sees, a few hundred"
        )
    if task == "drive":
        return nullcontext(drive_guard(package, str(calibration)))
    return labelled_guard(package, source, calibration, eval_dir)


@contextmanager
def labelled_guard(
    package: ModelPackage, source: str, calibration: Path, eval_dir: Path | None
) -> Iterator[Guard]:
    """An image model: its task's headline metric (accuracy, mAP@0.5, mIoU, clip accuracy) on
    ``eval_dir``, or on the split the trainer held out, rebuilt for as long as the guard is
    open. Calibration: a folder of images, preprocessed as the device does a frame."""
    from lensbox.evaluation import evaluate_package
    from lensbox.tasks import get_evaluator

    manifest = package.manifest
    calibration_set = load_calibration(calibration, manifest.input)
    metric = get_evaluator(manifest.task).headline[0]
    target: AbstractContextManager[tuple[Path, dict[str, Any]]] = (
        nullcontext((eval_dir, {})) if eval_dir else heldout_target(manifest, source)
    )
    with target as (data, options):

        def score(root: Path) -> float:
            return float(evaluate_package(root, data, options)[metric])

        evaluated_on = str(eval_dir) if eval_dir else "training's held-out split"
        yield Guard(metric, calibration_set, score, 1.0, evaluated_on)


def drive_guard(package: ModelPackage, calibration: str) -> Guard:
    """A drive model: the share of the track its time trial covers (``mean_progress`` / 100,
    stopping where the car first leaves the track or hits a box), on the track and with the
    boxes it trained with, the same box layouts for both models. Calibration: a folder of
    camera frames, or ``sim:TRACK``: the frames the FP32 policy itself sees lapping TRACK."""
    from lensbox.racer.evaluate import time_trial
    from lensbox.racer.track import load_track
    from lensbox.runtime.engine import Engine

    recipe = package.manifest.provenance.get("recipe", {})
    objects = int(recipe.get("objects", 0) or 0)
    direction = str(recipe.get("direction", "counterclockwise"))
    track_name = str(package.manifest.task_params.get("track") or "reinvent_base")
    track = load_track(track_name, direction)

    def score(root: Path) -> float:
        trial = time_trial(
            Engine.open(root), track, laps=TRIAL_LAPS, stop_on_off_track=True, n_objects=objects
        )
        return float(trial["mean_progress"]) / 100.0

    if calibration.startswith(SIM_PREFIX):
        frames: list[np.ndarray] = []
        sim_track = load_track(calibration[len(SIM_PREFIX) :] or track_name, direction)
        engine = Engine.open(package.root)
        time_trial(engine, sim_track, laps=2, n_objects=objects, on_frame=frames.append)
        picked = frames[:: max(1, len(frames) // MAX_IMAGES)][:MAX_IMAGES]
        digest = hashlib.sha256(f"{calibration}:{len(picked)}".encode())
        for frame in picked:
            digest.update(frame.tobytes())
        tensors = [engine.prepare(frame) for frame in picked]
        calibration_set = CalibrationSet(tensors, digest.hexdigest(), [])
    else:
        calibration_set = load_calibration(Path(calibration), package.manifest.input)
    laps = f"{track.name}, {TRIAL_LAPS} laps stopping off track" + (
        f", {objects} boxes" if objects else ""
    )
    return Guard("lap_progress", calibration_set, score, 1.0, laps)


def compose_guard(package: ModelPackage, cache_dir: Path | None, windows: int = 200) -> Guard:
    """An inpainting composer: its NLL per masked note on the test split (lower is better,
    so scored negated). Calibration: masked 64-step windows of the training pieces, encoded
    as the sampler feeds them."""
    from lensbox.composer.evaluate import NLL_SHARE, NLL_WINDOW, test_nll
    from lensbox.composer.grid import encode, to_classes
    from lensbox.composer.sampler import Inpainter
    from lensbox.composer.studio import training_corpus
    from lensbox.manifest import load_package

    if package.manifest.task_params.get("model") != "inpaint":
        raise LensboxError(
            f"{package.root}: a GAN composer has no likelihood to guard INT8 with; "
            "optimize takes inpaint composers"
        )
    corpus = training_corpus(package, cache_dir)
    test = corpus.held_out
    windows_of: list[np.ndarray] = []
    digest = hashlib.sha256(corpus.source.encode())
    for piece in corpus.train:
        pitches = piece.grid.pitches
        for start in range(0, len(pitches) - NLL_WINDOW + 1, NLL_WINDOW * 4):
            windows_of.append(to_classes(pitches[start : start + NLL_WINDOW]))
            digest.update(windows_of[-1].tobytes())
    if not windows_of:
        raise LensboxError(f"{package.root}: its training pieces are shorter than one window")
    rng = np.random.default_rng(0)
    picked = np.unique(np.linspace(0, len(windows_of) - 1, windows).round().astype(int))
    tensors = [
        encode(windows_of[i][None], (rng.random(windows_of[i].shape) >= NLL_SHARE)[None])
        for i in picked
    ]

    def score(root: Path) -> float:
        return -test_nll(Inpainter.open(load_package(root)), test)

    calibration = CalibrationSet(tensors, digest.hexdigest(), [])
    return Guard("nll", calibration, score, -1.0, f"{len(test)} test pieces of {corpus.source}")
