"""Annealed block Gibbs sampling with the inpainting model (Coconet's sampler), numpy and
onnxruntime only: a device or the console generates without torch.

Each round masks a shrinking random share of the cells still to be written, asks the model for
every masked cell's pitch distribution given the rest, and draws them. Candidates a choir could
not sing (outside the voice's range) are ruled out; candidates that would make parallel fifths or
octaves with another voice, or cross the neighbouring voice, are down-weighted, not forbidden:
the model still decides, the sampler only steers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.composer.grid import N_CLASSES, PITCH_LOW, encode
from lensbox.errors import PackageError

PARALLEL_WEIGHT = 0.02  # a candidate making parallel fifths/octaves keeps 2 % of its chance
CROSSING_WEIGHT = 0.1
_CANDIDATE_PITCH = np.arange(N_CLASSES) + PITCH_LOW - 1  # class 0 (rest) is never penalised


class Inpainter:
    """The package's ONNX network: (classes, known) of one piece -> logits per cell."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    @classmethod
    def open(cls, package: Any, threads: int | None = None) -> Inpainter:
        ort = require("onnxruntime", extra="runtime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(
                str(Path(package.root) / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise PackageError(f"{package.root}: model.onnx does not load ({exc})") from None
        return cls(session)

    def logits(self, classes: np.ndarray, known: np.ndarray) -> np.ndarray:
        """classes, known: (T, 4) -> (T, 4, N_CLASSES) float32."""
        batch = encode(classes[None], known[None])
        out = self.session.run(None, {self.input_name: batch})[0][0]  # (4, C, T)
        return np.ascontiguousarray(out.transpose(2, 0, 1))


@dataclass
class Schedule:
    rounds: int = 48
    start_share: float = 0.9  # of the cells to write, masked in the second round
    end_share: float = 0.05
    start_temperature: float = 1.0
    end_temperature: float = 0.4

    def share(self, n: int) -> float:
        fraction = min(1.0, n / max(1.0, 0.7 * self.rounds))
        return self.start_share + (self.end_share - self.start_share) * fraction

    def temperature(self, n: int) -> float:
        fraction = n / max(1, self.rounds - 1)
        return self.start_temperature + (self.end_temperature - self.start_temperature) * fraction


def _moves_in_parallel(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> np.ndarray:
    """Voice a goes a0 -> a1 and voice b goes b0 -> b1 (broadcast; -1 is a rest): a parallel
    fifth or octave (compound intervals and unisons included)."""
    sounding = (a0 >= 0) & (a1 >= 0) & (b0 >= 0) & (b1 >= 0)
    da, db = a1 - a0, b1 - b0
    before, after = (a0 - b0) % 12, (a1 - b1) % 12
    return (
        sounding & (da != 0) & (db != 0) & (np.sign(da) == np.sign(db))
        & ((before == 0) | (before == 7)) & (before == after)
    )  # fmt: skip


def steering_weights(pitches: np.ndarray, voice: int) -> np.ndarray:
    """(T, N_CLASSES) weights for voice ``voice``'s candidates at every step, given the other
    voices as they stand (pitches: (T, 4) MIDI, -1 for a rest)."""
    steps = pitches.shape[0]
    weights = np.ones((steps, N_CLASSES), dtype=np.float64)
    cand = np.broadcast_to(_CANDIDATE_PITCH, (steps, N_CLASSES))
    rest = cand < PITCH_LOW
    padded = np.vstack([np.full((1, 4), -1), pitches, np.full((1, 4), -1)])
    prev_v, next_v = padded[:-2, voice, None], padded[2:, voice, None]
    for other in range(pitches.shape[1]):
        if other == voice:
            continue
        prev_u, cur_u, next_u = (
            padded[:-2, other, None], padded[1:-1, other, None], padded[2:, other, None]
        )  # fmt: skip
        bad = _moves_in_parallel(prev_v, cand, prev_u, cur_u)
        bad |= _moves_in_parallel(cand, next_v, cur_u, next_u)
        weights[bad & ~rest] *= PARALLEL_WEIGHT
        crossing = (cand > cur_u) if other < voice else (cand < cur_u)
        weights[crossing & (cur_u >= 0) & ~rest] *= CROSSING_WEIGHT
    return weights


def gibbs(
    model: Inpainter,
    classes: np.ndarray,
    write: np.ndarray,
    allowed: np.ndarray,
    rng: np.random.Generator,
    schedule: Schedule | None = None,
    forbid: np.ndarray | None = None,
    steer: bool = True,
) -> np.ndarray:
    """Fill the cells where ``write`` (T, 4) is true; the others stay as given.

    allowed: (4, N_CLASSES) classes each voice may take; forbid: optional (T, 4, N_CLASSES)
    classes ruled out per cell (``rewrite`` forbids each chosen note's old pitch)."""
    schedule = schedule or Schedule()
    x = classes.copy()
    if not write.any():
        return x
    for n in range(schedule.rounds):
        if n == 0:
            mask = write.copy()  # the first draw writes every cell from the given ones alone
        else:
            mask = write & (rng.random(write.shape) < schedule.share(n))
            if not mask.any():
                continue
        logits = model.logits(x, ~mask).astype(np.float64) / schedule.temperature(n)
        logits -= logits.max(axis=2, keepdims=True)
        probs = np.exp(logits) * allowed[None, :, :]
        if forbid is not None:
            probs[forbid] = 0.0
        if steer and n > 0:
            pitches = np.where(x == 0, -1, x + PITCH_LOW - 1)
            for voice in range(x.shape[1]):
                if mask[:, voice].any():
                    probs[:, voice, :] *= steering_weights(pitches, voice)
        t, v = np.nonzero(mask)
        chosen = probs[t, v]
        totals = chosen.sum(axis=1, keepdims=True)
        chosen = np.where(
            totals > 0,
            chosen / np.maximum(totals, 1e-300),
            allowed[v] / allowed[v].sum(axis=1, keepdims=True),
        )
        cumulative = np.cumsum(chosen, axis=1)
        draws = rng.random((len(t), 1)) * cumulative[:, -1:]
        x[t, v] = (cumulative < draws).sum(axis=1).clip(0, N_CLASSES - 1)
    return x
