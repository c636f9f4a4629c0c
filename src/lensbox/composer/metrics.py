"""How Bach-like a four-voice grid is, in numbers a user can compare with Bach's own.

Each measure is defined here once and tested on hand-made grids. Notes are counted as events
(a held note once). Names follow MuseGAN and muspy where the idea is theirs; where the grid
makes their definition trivial (a "qualified" note is one of at least a 32nd, and every note of a
16th-note grid is that long), the stricter reading is used and said.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from lensbox.composer.grid import REST, SATB_RANGES, STEPS_PER_BAR, VOICES, Grid

MAJOR = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)


def _note_pitches(grid: Grid, voices: tuple[int, ...] = (0, 1, 2, 3)) -> list[int]:
    return [pitch for v in voices for _, _, pitch in grid.notes(v)]


def scale_consistency(grid: Grid) -> float:
    """The largest share of notes that fit one major or natural-minor scale over the 12 keys
    (muspy's definition; a minor key's raised 7th counts as outside). 1.0 for music in one
    key; random notes about 0.66."""
    pitches = _note_pitches(grid)
    if not pitches:
        return 0.0
    classes = np.bincount(np.asarray(pitches) % 12, minlength=12)
    best = 0
    for tonic in range(12):
        for scale in (MAJOR, NATURAL_MINOR):
            members = {(tonic + step) % 12 for step in scale}
            best = max(best, int(sum(classes[c] for c in members)))
    return best / len(pitches)


def pitch_class_entropy(grid: Grid) -> float:
    """Entropy in bits of the pitch-class histogram of the notes (uniform: log2 12 = 3.58)."""
    pitches = _note_pitches(grid)
    if not pitches:
        return 0.0
    counts = np.bincount(np.asarray(pitches) % 12, minlength=12).astype(float)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def empty_bar_rate(grid: Grid, voices: tuple[int, ...] = (0, 1, 2, 3)) -> float:
    """The share of (voice, bar of 16 steps) with no sounding note (MuseGAN's EB)."""
    bars = grid.steps // STEPS_PER_BAR
    if bars == 0:
        return 0.0
    sounding = grid.pitches[: bars * STEPS_PER_BAR, list(voices)] != REST
    per_bar = sounding.reshape(bars, STEPS_PER_BAR, len(voices)).any(axis=1)
    return float(1.0 - per_bar.mean())


def qualified_note_rate(grid: Grid, voices: tuple[int, ...] = (0, 1, 2, 3)) -> float:
    """The share of notes at least an 8th long (2 steps). MuseGAN's QN counts notes of a 32nd
    or more, which every note on a 16th grid is; an 8th is the stricter reading that still
    tells a fragmented roll from a sung line."""
    lengths = [end - start for v in voices for start, end, _ in grid.notes(v)]
    if not lengths:
        return 0.0
    return float(np.mean(np.asarray(lengths) >= 2))


def polyphony(grid: Grid) -> float:
    """The mean number of voices sounding at steps where any sounds (muspy's polyphony)."""
    sounding = (grid.pitches != REST).sum(axis=1)
    active = sounding[sounding > 0]
    return float(active.mean()) if active.size else 0.0


def _tonal_centroid(chroma: np.ndarray) -> np.ndarray:
    """Harte et al.'s 6-D tonal centroid of a chroma vector (fifths, minor and major thirds)."""
    angles = np.arange(12)
    basis = np.stack(
        [
            np.sin(angles * 7 * np.pi / 6),
            np.cos(angles * 7 * np.pi / 6),
            np.sin(angles * 3 * np.pi / 2),
            np.cos(angles * 3 * np.pi / 2),
            0.5 * np.sin(angles * 2 * np.pi / 3),
            0.5 * np.cos(angles * 2 * np.pi / 3),
        ]
    )
    total = chroma.sum()
    return basis @ (chroma / total) if total > 0 else np.zeros(6)


def tonal_distance(grid: Grid) -> float:
    """MuseGAN's TD: the distance between the tonal centroids of the melody (soprano) and of the
    lower voices, per bar, averaged. Small when the harmony fits the tune."""
    bars = grid.steps // STEPS_PER_BAR
    distances = []
    for bar in range(bars):
        window = grid.pitches[bar * STEPS_PER_BAR : (bar + 1) * STEPS_PER_BAR]
        top, low = window[:, 0], window[:, 1:].ravel()
        top, low = top[top != REST], low[low != REST]
        if top.size == 0 or low.size == 0:
            continue
        a = _tonal_centroid(np.bincount(top % 12, minlength=12).astype(float))
        b = _tonal_centroid(np.bincount(low % 12, minlength=12).astype(float))
        distances.append(float(np.linalg.norm(a - b)))
    return float(np.mean(distances)) if distances else 0.0


def _change_moments(grid: Grid) -> list[int]:
    """Steps at which some voice starts a note or changes pitch."""
    pitches = grid.pitches
    changed = grid.onsets.copy()
    changed[1:] |= pitches[1:] != pitches[:-1]
    return [int(t) for t in np.nonzero(changed.any(axis=1))[0] if t > 0]


def parallel_fifths_octaves(grid: Grid) -> float:
    """Parallel fifths and octaves (also by compound intervals and unisons) per 100 voice-pair
    moves. A voice-pair move: at a moment of change, two sounding voices that both change pitch;
    it is parallel when both move the same way and the interval class (0 or 7) stays."""
    moves = parallels = 0
    pitches = grid.pitches.astype(int)
    for t in _change_moments(grid):
        before, after = pitches[t - 1], pitches[t]
        for i, j in combinations(range(4), 2):
            if REST in (before[i], before[j], after[i], after[j]):
                continue
            di, dj = after[i] - before[i], after[j] - before[j]
            if di == 0 or dj == 0:
                continue
            moves += 1
            first = abs(before[i] - before[j]) % 12  # crossed voices count too
            second = abs(after[i] - after[j]) % 12
            if first in (0, 7) and first == second and (di > 0) == (dj > 0):
                parallels += 1
    return 100.0 * parallels / moves if moves else 0.0


def voice_crossing_rate(grid: Grid) -> float:
    """The share of steps (all four voices sounding) where a lower voice is above the one over
    it."""
    pitches = grid.pitches.astype(int)
    full = (pitches != REST).all(axis=1)
    if not full.any():
        return 0.0
    crossed = (np.diff(pitches[full], axis=1) > 0).any(axis=1)
    return float(crossed.mean())


def lower_voice_motion(grid: Grid) -> float:
    """How often alto, tenor and bass each change pitch at the moments when any voice changes,
    averaged over the three (Bach: about two thirds; a held chord under a tune: 0)."""
    moments = _change_moments(grid)
    if not moments:
        return 0.0
    pitches = grid.pitches
    index = np.asarray(moments)
    return float((pitches[index, 1:] != pitches[index - 1, 1:]).mean())


def out_of_range_rate(grid: Grid) -> float:
    """The share of notes outside their voice's choir range (SATB_RANGES)."""
    total = outside = 0
    for v, name in enumerate(VOICES):
        low, high = SATB_RANGES[name]
        for _, _, pitch in grid.notes(v):
            total += 1
            outside += int(not low <= pitch <= high)
    return outside / total if total else 0.0


MEASURES = {
    "scale_consistency": scale_consistency,
    "pitch_class_entropy": pitch_class_entropy,
    "empty_bar_rate": empty_bar_rate,
    "qualified_note_rate": qualified_note_rate,
    "polyphony": polyphony,
    "tonal_distance": tonal_distance,
    "parallel_fifths_octaves": parallel_fifths_octaves,
    "voice_crossing_rate": voice_crossing_rate,
    "lower_voice_motion": lower_voice_motion,
    "out_of_range_rate": out_of_range_rate,
}


def measure(grid: Grid) -> dict[str, float]:
    return {name: round(float(fn(grid)), 4) for name, fn in MEASURES.items()}


def mean_measures(grids: list[Grid]) -> dict[str, float]:
    """Each measure averaged over pieces (NaN-free: empty pieces score 0)."""
    if not grids:
        return {}
    table = [measure(g) for g in grids]
    return {k: round(float(np.mean([row[k] for row in table])), 4) for k in MEASURES}
