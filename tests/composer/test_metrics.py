"""The Bach-likeness measures on hand-made grids whose right answers are known."""

from __future__ import annotations

import math

import numpy as np

from lensbox.composer import metrics
from lensbox.composer.grid import REST, Grid


def grid(rows: list[tuple[int, int, int, int]], repeat: int = 4) -> Grid:
    """Chords (S, A, T, B), each held ``repeat`` 16th steps."""
    return Grid.from_pitches(np.repeat(np.asarray(rows), repeat, axis=0))


def test_a_piece_in_one_key_is_scale_consistent_and_random_notes_are_not() -> None:
    c_major = grid([(72, 67, 64, 48), (74, 69, 65, 50), (76, 71, 67, 52), (77, 72, 69, 53)])
    assert metrics.scale_consistency(c_major) == 1.0
    chromatic = Grid.from_pitches(np.arange(60, 72)[:, None].repeat(4, axis=1))
    assert metrics.scale_consistency(chromatic) == 7 / 12
    assert math.isclose(metrics.pitch_class_entropy(chromatic), math.log2(12), rel_tol=1e-6)


def test_parallel_fifths_and_octaves_are_counted_per_hundred_pair_moves() -> None:
    # S and B move in parallel octaves (C->D), A and T hold: one parallel in one pair move.
    parallel = grid([(72, 67, 64, 48), (74, 67, 64, 50)])
    assert metrics.parallel_fifths_octaves(parallel) == 100.0
    # Contrary motion to the same octave is not parallel.
    contrary = grid([(72, 67, 64, 52), (74, 67, 64, 50)])
    assert metrics.parallel_fifths_octaves(contrary) == 0.0
    # A fifth to a fifth (S-A: G/C -> A/D), plus S and T moving without a parallel: 1 in 3.
    fifths = grid([(67, 60, 55, 48), (69, 62, 53, 48)])
    assert math.isclose(metrics.parallel_fifths_octaves(fifths), 100 / 3)


def test_lower_voice_motion_is_zero_under_a_held_chord_and_counts_each_voice() -> None:
    melody = np.asarray([72, 74, 76, 77, 79, 77, 76, 74]).repeat(2)
    held = np.column_stack([melody, np.full(16, 67), np.full(16, 64), np.full(16, 48)])
    assert metrics.lower_voice_motion(Grid.from_pitches(held)) == 0.0
    moving = held.copy()
    moving[8:, 3] = 43  # the bass moves once, at one of the 7 moments of change
    assert math.isclose(metrics.lower_voice_motion(Grid.from_pitches(moving)), 1 / 21)


def test_empty_bars_short_notes_crossings_and_ranges() -> None:
    pitches = np.full((32, 4), REST, dtype=np.int16)
    pitches[:16] = (72, 67, 64, 48)  # bar 1 full, bar 2 empty
    assert metrics.empty_bar_rate(Grid.from_pitches(pitches)) == 0.5
    flicker = np.column_stack(
        [np.tile([72, 74], 8), np.full(16, 67), np.full(16, 64), np.full(16, 48)]
    )
    # 16 one-step soprano notes and three whole-length notes: 3 of 19 are an 8th or longer.
    assert math.isclose(metrics.qualified_note_rate(Grid.from_pitches(flicker)), 3 / 19)
    crossed = grid([(72, 67, 64, 48), (72, 62, 64, 48)])  # alto under tenor in the 2nd chord
    assert metrics.voice_crossing_rate(crossed) == 0.5
    low_soprano = grid([(55, 53, 50, 40)])  # soprano below C4: one note of four out of range
    assert metrics.out_of_range_rate(low_soprano) == 0.25
