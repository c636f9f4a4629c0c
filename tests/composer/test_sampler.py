"""The Gibbs sampler's rules, with a stand-in network that has no opinion (uniform logits): what
is left comes from the sampler alone."""

from __future__ import annotations

import numpy as np

from lensbox.composer.grid import (
    N_CLASSES,
    PITCH_LOW,
    Grid,
    from_classes,
    to_classes,
    voice_ranges_in_classes,
)
from lensbox.composer.metrics import parallel_fifths_octaves
from lensbox.composer.sampler import PARALLEL_WEIGHT, Schedule, gibbs, steering_weights


class Uniform:
    def logits(self, classes: np.ndarray, known: np.ndarray) -> np.ndarray:
        return np.zeros((*classes.shape, N_CLASSES), dtype=np.float32)


class Doubling(Uniform):
    """Wants the bass two octaves under the soprano: parallel octaves wherever the tune moves."""

    def logits(self, classes: np.ndarray, known: np.ndarray) -> np.ndarray:
        out = super().logits(classes, known)
        out[np.arange(len(classes)), 3, np.maximum(classes[:, 0] - 24, 0)] = 8.0
        return out


def test_a_candidate_in_parallel_octaves_with_the_tune_is_down_weighted() -> None:
    # soprano C5 -> D5; bass C3 before: D3 after would be parallel octaves, E3 would not.
    pitches = np.asarray([[72, 67, 64, 48], [74, 67, 64, -1]])
    weights = steering_weights(pitches, voice=3)
    d3, e3 = 50 - PITCH_LOW + 1, 52 - PITCH_LOW + 1
    assert weights[1, d3] == PARALLEL_WEIGHT and weights[1, e3] == 1.0
    # A twelfth below (a compound fifth) is caught from the lower voice's side too.
    fifths = np.asarray([[74, 67, 60, 43], [76, 67, 60, -1]])
    weights = steering_weights(fifths, voice=3)
    assert weights[1, 45 - PITCH_LOW + 1] == PARALLEL_WEIGHT
    assert weights[1, 43 - PITCH_LOW + 1] == 1.0  # the bass holding is no parallel


def test_written_cells_stay_in_range_keep_what_is_given_and_avoid_forbidden_classes() -> None:
    rng = np.random.default_rng(0)
    tune = np.repeat([72, 74, 76, 77, 79, 77, 76, 74], 4)
    classes = np.zeros((len(tune), 4), dtype=np.int64)
    classes[:, 0] = to_classes(tune)
    write = np.zeros_like(classes, dtype=bool)
    write[:, 1:] = True
    allowed = voice_ranges_in_classes(0)
    forbid = np.zeros((*classes.shape, N_CLASSES), dtype=bool)
    forbid[:, 1:, 0] = True  # no rests in the lower voices
    out = gibbs(Uniform(), classes, write, allowed, rng, Schedule(rounds=24), forbid=forbid)
    assert (out[:, 0] == classes[:, 0]).all()
    for voice in (1, 2, 3):
        assert allowed[voice, out[:, voice]].all() and (out[:, voice] != 0).all()


def test_steering_talks_a_network_out_of_parallel_octaves() -> None:
    tune = np.repeat([72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72], 4)
    classes = np.zeros((len(tune), 4), dtype=np.int64)
    classes[:, 0] = to_classes(tune)
    write = np.zeros_like(classes, dtype=bool)
    write[:, 1:] = True
    allowed = voice_ranges_in_classes(0)
    found = {}
    for steer in (False, True):
        rng = np.random.default_rng(1)
        out = gibbs(Doubling(), classes, write, allowed, rng, Schedule(rounds=24), steer=steer)
        found[steer] = parallel_fifths_octaves(Grid.from_pitches(from_classes(out)))
    # unsteered, the soprano-bass pair moves in octaves at every change (one pair of six)
    assert found[False] > 8 and found[True] < 1


def test_key_weights_prefer_the_tunes_key() -> None:
    from lensbox.composer.sampler import key_weights

    a_minor_tune = np.asarray([69, 71, 72, 74, 76, 77, 76, 74, 72, 71, 69, -1])
    weights = key_weights(a_minor_tune, 0.3)
    in_key = [60, 62, 64, 65, 67, 69, 71]
    assert all(weights[p - PITCH_LOW + 1] == 1.0 for p in in_key)
    assert weights[61 - PITCH_LOW + 1] == 0.3  # C sharp
    assert weights[0] == 1.0  # a rest is never out of key
