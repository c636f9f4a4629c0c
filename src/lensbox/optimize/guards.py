"""What INT8 is judged by where there are no labelled images: a drive model by its laps, an
inpainting composer by its NLL on the chorales it never trained on. Each guard also makes the
calibration tensors, from the inputs that model really sees."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lensbox.errors import LensboxError
from lensbox.manifest import ModelPackage
from lensbox.optimize.calibration import MAX_IMAGES, CalibrationSet, load_calibration

TRIAL_LAPS = 3
SIM_PREFIX = "sim:"


@dataclass
class Guard:
    metric: str
    calibration: CalibrationSet
    score: Callable[[Path], float]  # a package folder -> the metric, higher is better
    sign: float  # +1, or -1 for a metric where lower is better (scored negated)
    evaluated_on: str


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


def compose_guard(package: ModelPackage, cache_dir: Path, windows: int = 200) -> Guard:
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
    test = corpus.test or corpus.train[:4]
    rng = np.random.default_rng(0)
    tensors = []
    digest = hashlib.sha256(corpus.source.encode())
    for piece in corpus.train:
        pitches = piece.grid.pitches
        for start in range(0, len(pitches) - NLL_WINDOW + 1, NLL_WINDOW * 4):
            classes = to_classes(pitches[start : start + NLL_WINDOW])
            known = rng.random(classes.shape) >= NLL_SHARE
            tensors.append(encode(classes[None], known[None]))
            digest.update(classes.tobytes())
    if not tensors:
        raise LensboxError(f"{package.root}: its training pieces are shorter than one window")
    picked = [tensors[i] for i in np.linspace(0, len(tensors) - 1, windows).round().astype(int)]

    def score(root: Path) -> float:
        return -test_nll(Inpainter.open(load_package(root)), test)

    calibration = CalibrationSet(list({id(t): t for t in picked}.values()), digest.hexdigest(), [])
    return Guard("nll", calibration, score, -1.0, f"{len(test)} test pieces of {corpus.source}")
