from __future__ import annotations

from collections import Counter

from lensbox.train.split import stratified_split


def test_split_is_stratified_disjoint_and_seeded() -> None:
    labels = [0] * 40 + [1] * 20 + [2] * 3 + [3]
    train, val = stratified_split(labels, 0.25, seed=7)
    assert set(train).isdisjoint(val) and sorted(train + val) == list(range(len(labels)))
    counts = Counter(labels[i] for i in val)
    assert counts == {0: 10, 1: 5, 2: 1}  # the one-sample class stays in train
    assert stratified_split(labels, 0.25, seed=7) == (train, val)
    assert stratified_split(labels, 0.25, seed=8) != (train, val)
