"""Stratified, seeded train/validation split: every class is represented in both parts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def stratified_split(
    labels: Sequence[int], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices for (train, val). Classes with one sample stay in train; same seed, same split."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be in [0, 1)")
    by_class: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_class):
        members = np.array(by_class[label])
        rng.shuffle(members)
        n_val = 0
        if val_fraction > 0 and len(members) >= 2:
            n_val = min(len(members) - 1, max(1, round(len(members) * val_fraction)))
        val.extend(int(i) for i in members[:n_val])
        train.extend(int(i) for i in members[n_val:])
    return sorted(train), sorted(val)
