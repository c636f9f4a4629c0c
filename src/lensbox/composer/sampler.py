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
from typing import Any

import numpy as np

from lensbox._onnx import open_session
from lensbox.composer.grid import N_CLASSES, PITCH_LOW, encode

PARALLEL_WEIGHT = 0.005  # a candidate making parallel fifths/octaves keeps 0.5 % of its chance
CROSSING_WEIGHT = 0.1
# Chorale rhythm for the lower voices: they move on 8th-note positions (a change on an odd 16th
# is mostly the model's indecision, not Bach's), and where the tune moves on a beat the lower
# voices nearly always move too (on the half beat, more often than not). Measured on 12 folk and
# dance tunes with `benchmarks/composer.py --skip-train`: with 0.05 on the beat and 0.5 on the
# half beat, two 16th-note reels stayed at 0.34-0.39 of the moments of change; with these,
# every tune 0.46-0.65 (Bach's chorales: 0.64), scale consistency unchanged.
OFFBEAT_CHANGE_WEIGHT = 0.15
HELD_OVER_BEAT_WEIGHT = 0.002
HELD_OVER_EIGHTH_WEIGHT = 0.2
_CANDIDATE_PITCH = np.arange(N_CLASSES) + PITCH_LOW - 1  # class 0 (rest) is never penalised


class Inpainter:
    """The package's ONNX network: (classes, known) of one piece -> logits per cell."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    @classmethod
    def open(cls, package: Any, threads: int | None = None) -> Inpainter:
        return cls(open_session(package, threads))

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


def key_weights(melody_pitches: np.ndarray, out_of_key: float) -> np.ndarray:
    """(N_CLASSES,) weights: 1 for the rest class and for pitches in the major or natural-minor
    scale that fits the melody best (by note count), ``out_of_key`` for the others."""
    from lensbox.composer.metrics import MAJOR, NATURAL_MINOR

    sounding = melody_pitches[melody_pitches >= 0].astype(int)
    counts = np.bincount(sounding % 12, minlength=12)
    scales = [
        {(tonic + step) % 12 for step in scale}
        for tonic in range(12)
        for scale in (MAJOR, NATURAL_MINOR)
    ]
    best = max(scales, key=lambda members: int(sum(counts[c] for c in members)))
    weights = np.full(N_CLASSES, out_of_key)
    weights[0] = 1.0
    pitch_classes = (np.arange(1, N_CLASSES) + PITCH_LOW - 1) % 12
    weights[1:][np.isin(pitch_classes, sorted(best))] = 1.0
    return weights


def _moves_in_parallel(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> np.ndarray:
    """Voice a goes a0 -> a1 and voice b goes b0 -> b1 (broadcast; -1 is a rest): a parallel
    fifth or octave (compound intervals and unisons included)."""
    sounding = (a0 >= 0) & (a1 >= 0) & (b0 >= 0) & (b1 >= 0)
    da, db = a1 - a0, b1 - b0
    before, after = np.abs(a0 - b0) % 12, np.abs(a1 - b1) % 12  # either voice may be on top
    return (
        sounding & (da != 0) & (db != 0) & (np.sign(da) == np.sign(db))
        & ((before == 0) | (before == 7)) & (before == after)
    )  # fmt: skip


def steering_weights(
    pitches: np.ndarray,
    voice: int,
    tune_onsets: np.ndarray | None = None,
    parallel_weight: float = PARALLEL_WEIGHT,
) -> np.ndarray:
    """(T, N_CLASSES) weights for voice ``voice``'s candidates at every step, given the other
    voices as they stand (pitches: (T, 4) MIDI, -1 for a rest). ``tune_onsets`` (T,) marks
    where the given melody starts a note: the lower voices then keep a chorale's rhythm."""
    steps = pitches.shape[0]
    weights = np.ones((steps, N_CLASSES), dtype=np.float64)
    cand = np.broadcast_to(_CANDIDATE_PITCH, (steps, N_CLASSES))
    rest = cand < PITCH_LOW
    padded = np.vstack([np.full((1, 4), -1), pitches, np.full((1, 4), -1)])
    prev_v, next_v = padded[:-2, voice, None], padded[2:, voice, None]
    if tune_onsets is not None and voice > 0:
        time = np.arange(steps)[:, None]
        changes = (cand != prev_v) & (time > 0)
        weights[changes & (time % 2 == 1)] *= OFFBEAT_CHANGE_WEIGHT
        on_beat = (time % 4 == 0) & tune_onsets[:, None] & (time > 0)
        weights[on_beat & ~changes] *= HELD_OVER_BEAT_WEIGHT
        on_eighth = (time % 4 == 2) & tune_onsets[:, None]
        weights[on_eighth & ~changes] *= HELD_OVER_EIGHTH_WEIGHT
    for other in range(pitches.shape[1]):
        if other == voice:
            continue
        prev_u, cur_u, next_u = (
            padded[:-2, other, None], padded[1:-1, other, None], padded[2:, other, None]
        )  # fmt: skip
        bad = _moves_in_parallel(prev_v, cand, prev_u, cur_u)
        bad |= _moves_in_parallel(cand, next_v, cur_u, next_u)
        weights[bad & ~rest] *= parallel_weight
        crossing = (cand > cur_u) if other < voice else (cand < cur_u)
        weights[crossing & (cur_u >= 0) & ~rest] *= CROSSING_WEIGHT
    return weights


def _parallel_cells(x: np.ndarray, write: np.ndarray) -> np.ndarray:
    """(T, 4) bool: written cells whose voice moves in parallel fifths or octaves with another
    voice into that step, or out of it into the next."""
    pitches = np.where(x == 0, -1, x + PITCH_LOW - 1).astype(int)
    bad = np.zeros_like(write)
    for v in range(pitches.shape[1]):
        for u in range(pitches.shape[1]):
            if u == v:
                continue
            into = _moves_in_parallel(
                pitches[:-1, v], pitches[1:, v], pitches[:-1, u], pitches[1:, u]
            )
            bad[1:, v] |= into
            bad[:-1, v] |= into
    return bad & write


def gibbs(
    model: Inpainter,
    classes: np.ndarray,
    write: np.ndarray,
    allowed: np.ndarray,
    rng: np.random.Generator,
    schedule: Schedule | None = None,
    forbid: np.ndarray | None = None,
    steer: bool = True,
    tune_onsets: np.ndarray | None = None,
    repair_rounds: int = 6,
) -> np.ndarray:
    """Fill the cells where ``write`` (T, 4) is true; the others stay as given.

    allowed: (4, N_CLASSES) classes each voice may take; forbid: optional (T, 4, N_CLASSES)
    classes ruled out per cell (``rewrite`` forbids each chosen note's old pitch). The last
    rounds re-draw one voice at a time, so the steering sees the other voices as they will be
    (two voices re-drawn together can move into parallels that neither saw); then up to
    ``repair_rounds`` rounds re-draw just the cells still in parallels, one voice at a time,
    with parallel candidates ruled out (late rounds touch few cells, and a confident network
    at a low temperature outweighs any down-weighting, so what the first noisy draws left
    would otherwise stay)."""
    schedule = schedule or Schedule()
    x = classes.copy()
    if not write.any():
        return x
    voices = [v for v in range(write.shape[1]) if write[:, v].any()]
    for n in range(schedule.rounds):
        if n == 0:
            mask = write.copy()  # the first draw writes every cell from the given ones alone
        else:
            mask = write & (rng.random(write.shape) < schedule.share(n))
            if n >= schedule.rounds * 0.6:
                only = voices[n % len(voices)]
                mask[:, [v for v in range(write.shape[1]) if v != only]] = False
        if mask.any():
            _draw(
                model,
                x,
                mask,
                allowed,
                forbid,
                rng,
                schedule.temperature(n),
                steer and n > 0,
                tune_onsets,
            )
    for n in range(repair_rounds if steer else 0):
        bad = _parallel_cells(x, write)
        if not bad.any():
            break
        only = voices[n % len(voices)]
        mask = np.zeros_like(bad)
        mask[:, only] = bad[:, only]
        if mask.any():
            _draw(
                model, x, mask, allowed, forbid, rng, schedule.end_temperature, True,
                tune_onsets, parallel_weight=0.0,
            )  # fmt: skip
    return x


def _draw(
    model: Inpainter,
    x: np.ndarray,
    mask: np.ndarray,
    allowed: np.ndarray,
    forbid: np.ndarray | None,
    rng: np.random.Generator,
    temperature: float,
    steer: bool,
    tune_onsets: np.ndarray | None,
    parallel_weight: float = PARALLEL_WEIGHT,
) -> None:
    """One round: hide ``mask``, ask the model, draw each hidden cell (``x`` updated)."""
    logits = model.logits(x, ~mask).astype(np.float64) / temperature
    logits -= logits.max(axis=2, keepdims=True)
    probs = np.exp(logits) * allowed[None, :, :]
    if forbid is not None:
        probs[forbid] = 0.0
    if steer:
        pitches = np.where(x == 0, -1, x + PITCH_LOW - 1)
        for voice in range(x.shape[1]):
            if mask[:, voice].any():
                probs[:, voice, :] *= steering_weights(pitches, voice, tune_onsets, parallel_weight)
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
