"""How good an inpainting package is, on the test split it never trained on: its NLL per
masked note, and the harmonisations of the test chorales' soprano lines measured beside the
chorales themselves (numpy + onnxruntime)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lensbox.composer.chorales import Piece
from lensbox.composer.generate import harmonise
from lensbox.composer.grid import Grid, to_classes
from lensbox.composer.metrics import MEASURES, mean_measures
from lensbox.composer.sampler import Inpainter, Schedule

NLL_WINDOW = 64
NLL_SHARE = 0.5  # each cell hidden with this chance, the same cells every time (seeded)


def test_nll(model: Inpainter, pieces: list[Piece], seed: int = 1234) -> float:
    """Mean negative log-likelihood (nats) per masked cell over every whole 64-step window of
    the pieces, half the cells hidden."""
    rng = np.random.default_rng(seed)
    total, count = 0.0, 0
    for piece in pieces:
        pitches = piece.grid.pitches
        for start in range(0, len(pitches) - NLL_WINDOW + 1, NLL_WINDOW):
            classes = to_classes(pitches[start : start + NLL_WINDOW])
            mask = rng.random(classes.shape) < NLL_SHARE
            logits = model.logits(classes, ~mask).astype(np.float64)  # (T, 4, C)
            logits -= logits.max(axis=2, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
            t, v = np.nonzero(mask)
            total -= float(log_p[t, v, classes[t, v]].sum())
            count += len(t)
    return total / count if count else float("nan")


def harmonise_piece(model: Any, piece: Piece, seed: int) -> Grid:
    """The piece's soprano (with its own note starts) under the model's three lower voices."""
    if isinstance(model, Inpainter):
        soprano, onsets = piece.grid.pitches[:, 0], piece.grid.onsets[:, 0]
        grid = harmonise(model, soprano, seed, Schedule(rounds=32), onsets)
    else:
        grid = model.harmonise(piece.grid.pitches[:, 0], seed)
    grid.onsets[:, 0] = piece.grid.onsets[:, 0]
    return grid


def evaluate_generator(
    model: Any, pieces: list[Piece], seed: int = 0, limit: int | None = None
) -> dict[str, Any]:
    """Each measure for the harmonisations of the pieces' soprano lines beside the real
    pieces'; ``nll`` too for an inpainting model (a GAN has no likelihood)."""
    chosen = pieces[:limit] if limit else pieces
    ours = mean_measures([harmonise_piece(model, p, seed + i) for i, p in enumerate(chosen)])
    real = mean_measures([p.grid for p in chosen])
    table = {name: {"model": ours[name], "real": real[name]} for name in MEASURES}
    result: dict[str, Any] = {"test_pieces": len(chosen), "measures": table}
    if isinstance(model, Inpainter):
        result = {"nll": round(test_nll(model, chosen), 4), **result}
    return result
