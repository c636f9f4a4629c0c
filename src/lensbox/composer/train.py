"""Train the inpainting model on four-voice grids: random masks in, the hidden notes out.

Why this shape (Coconet's idea, made small for two cores): one network that predicts any masked
cells from the rest serves all three modes (harmonise a melody, rewrite notes, extend a piece).
Voices x pitches are channels of a 1-D convolution over time with dilations, so a 4-bar window
is seen whole and a piece of any length runs in one pass; random transpositions teach every key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.composer.chorales import Corpus, Piece, load_bach, load_folder
from lensbox.composer.grid import (
    INPUT_CHANNELS,
    N_CLASSES,
    PITCH_HIGH,
    PITCH_LOW,
    REST,
    STEPS_PER_QUARTER,
    VOICES,
    encode,
    to_classes,
)
from lensbox.errors import TrainError
from lensbox.train.callbacks import TrainProgress
from lensbox.train.loop import TrainOptions, option

WINDOW = 64  # 16 quarter notes: four bars of 4/4 per training window
MAX_TRANSPOSE = 6


@dataclass
class ComposerOptions(TrainOptions):
    model: str = option("inpaint", "inpaint (harmonise, rewrite, extend) or gan (accompaniment)")
    minutes: float = option(6.0, "wall-clock minutes of optimisation")
    data: str = option("", "a folder of four-part MIDI/MusicXML files (default: Bach's chorales)")
    batch_size: int = option(32, "windows per step")
    channels: int = option(128, "width of the network")

    def recipe(self) -> dict[str, Any]:
        """Less the time budget: resuming with more --minutes trains on."""
        recipe = super().recipe()
        recipe.pop("minutes")
        return recipe


@dataclass
class ComposerData:
    """The pieces trained on, in the shape every trainer's data report has."""

    root: Path
    corpus: Corpus
    labels: list[str] = field(default_factory=lambda: list(VOICES))
    errors: list[str] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = list(self.corpus.problems)

    @property
    def can_train(self) -> bool:
        return bool(self.corpus.train)

    def fingerprint(self) -> str:
        return self.corpus.fingerprint()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.corpus.source,
            "train_pieces": len(self.corpus.train),
            "test_pieces": len(self.corpus.test),
            "skipped": self.corpus.problems,
        }


def load_corpus(options: ComposerOptions, cache_dir: Path) -> ComposerData:
    if options.data:
        root = Path(options.data)
        return ComposerData(root, load_folder(root))
    return ComposerData(Path("music21-corpus/bach"), load_bach(cache_dir))


def read_training_pieces(
    options: ComposerOptions, cache_dir: Path, progress: TrainProgress
) -> ComposerData:
    """What every composer trainer does first: check the budget, read the pieces, say so."""
    if options.minutes <= 0:
        raise TrainError(f"--minutes must be above 0, got {options.minutes}")
    progress.stage("read the pieces", 1)
    data = load_corpus(options, cache_dir)
    progress.advance()
    progress.message(
        f"{data.corpus.source}: {len(data.corpus.train)} pieces to train on, "
        f"{len(data.corpus.test)} held out, {len(data.corpus.problems)} skipped"
    )
    return data


def build_network(
    in_channels: int,
    voices: int,
    channels: int,
    dilations: tuple[int, ...],
    softmax: bool = False,
) -> Any:
    """Dilated residual 1-D convolutions over time: (B, in_channels, T) -> (B, voices,
    N_CLASSES, T) logits (or, with ``softmax``, each voice's distribution over the classes).
    The inpainter and the GAN's generator are both this shape."""
    torch = require("torch", extra="train")
    nn = torch.nn

    class Block(nn.Module):  # type: ignore[name-defined]
        def __init__(self, dilation: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.BatchNorm1d(channels), nn.ReLU(),
                nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
                nn.BatchNorm1d(channels), nn.ReLU(),
                nn.Conv1d(channels, channels, 3, padding=1),
            )  # fmt: skip

        def forward(self, x: Any) -> Any:
            return x + self.body(x)

    class Network(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv1d(in_channels, channels, 3, padding=1)
            self.blocks = nn.Sequential(*[Block(d) for d in dilations])
            self.head = nn.Sequential(
                nn.BatchNorm1d(channels), nn.ReLU(), nn.Conv1d(channels, voices * N_CLASSES, 1)
            )

        def forward(self, x: Any) -> Any:
            out = self.head(self.blocks(self.stem(x)))
            out = out.reshape(x.shape[0], voices, N_CLASSES, x.shape[2])
            return torch.softmax(out, dim=2) if softmax else out

    return Network()


def build_inpainter(channels: int = 128) -> Any:
    return build_network(INPUT_CHANNELS, len(VOICES), channels, (1, 2, 4, 8) * 2)


def random_window(piece: Piece, rng: np.random.Generator, window: int = WINDOW) -> np.ndarray:
    """A random crop (rests padded on the right of a short piece), transposed at random within
    the model's pitch range: (window, 4) class indices."""
    pitches = piece.grid.pitches
    if len(pitches) < window:
        pitches = np.vstack([pitches, np.full((window - len(pitches), 4), REST, np.int16)])
    start = int(rng.integers(0, len(pitches) - window + 1))
    crop = pitches[start : start + window]
    sounding = crop[crop != REST]
    low = PITCH_LOW - int(sounding.min()) if sounding.size else 0
    high = PITCH_HIGH - int(sounding.max()) if sounding.size else 0
    low, high = max(-MAX_TRANSPOSE, low), min(MAX_TRANSPOSE, high)
    shift = int(rng.integers(low, high + 1)) if low <= high else 0  # wider than the range: clip
    return to_classes(np.where(crop == REST, REST, crop + shift))


def random_mask(rng: np.random.Generator, steps: int) -> np.ndarray:
    """Which cells the model must fill (True): the three ways it is asked at generation time,
    plus Coconet's orderless masks that teach it everything in between."""
    kind = rng.random()
    if kind < 0.45:  # orderless: each cell hidden with one probability drawn per window
        mask = rng.random((steps, 4)) < rng.uniform(0.05, 1.0)
    elif kind < 0.75:  # accompany: the soprano is given, the rest mostly hidden
        mask = np.zeros((steps, 4), bool)
        mask[:, 1:] = rng.random((steps, 3)) < rng.uniform(0.6, 1.0)
    else:  # extend: a tail of the window is hidden in every voice
        mask = rng.random((steps, 4)) < rng.uniform(0.0, 0.5)
        tail = int(rng.integers(STEPS_PER_QUARTER * 2, steps // 2 + 1))
        mask[-tail:] = True
    if not mask.any():
        mask[int(rng.integers(steps)), int(rng.integers(4))] = True
    return mask


def make_batch(
    pieces: list[Piece], weights: np.ndarray, rng: np.random.Generator, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, targets, masks) for one step."""
    chosen = rng.choice(len(pieces), size=size, p=weights)
    classes = np.stack([random_window(pieces[i], rng) for i in chosen])
    masks = np.stack([random_mask(rng, WINDOW) for _ in chosen])
    return encode(classes, ~masks), classes, masks


def masked_nll(logits: Any, targets: Any, masks: Any) -> Any:
    """Mean negative log-likelihood (nats) per masked cell; logits (B, 4, C, T)."""
    torch = require("torch", extra="train")
    log_p = torch.log_softmax(logits, dim=2)  # over classes
    picked = log_p.gather(2, targets.permute(0, 2, 1).unsqueeze(2)).squeeze(2)  # (B, 4, T)
    weights = masks.permute(0, 2, 1).float()
    return -(picked * weights).sum() / weights.sum().clamp(min=1.0)


def train_steps(
    network: Any,
    optimizer: Any,
    data: ComposerData,
    seconds: float,
    rng: np.random.Generator,
    batch_size: int,
    progress: TrainProgress,
    first_round: int,
    after_round: Any,
    round_seconds: float = 60.0,
) -> list[dict[str, Any]]:
    """Optimise for ``seconds``; a history row (and a checkpoint, via ``after_round``) each
    ``round_seconds``: held-out loss on fixed test windows beside the training loss."""
    torch = require("torch", extra="train")
    pieces = data.corpus.train
    lengths = np.asarray([p.grid.steps for p in pieces], dtype=float)
    weights = lengths / lengths.sum()
    held_out = fixed_windows(data.corpus.held_out, seed=1234)
    history: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    base_lr = optimizer.param_groups[0]["lr"]
    started = time.monotonic()
    round_number = first_round
    progress.stage("inpainting model", max(1, int(seconds // round_seconds)))
    while time.monotonic() < deadline:
        round_end = min(deadline, time.monotonic() + round_seconds)
        network.train()
        losses = []
        while time.monotonic() < round_end:
            elapsed = (time.monotonic() - started) / max(seconds, 1.0)
            for group in optimizer.param_groups:  # linear decay to a tenth over the budget
                group["lr"] = base_lr * (1.0 - 0.9 * min(elapsed, 1.0))
            inputs, targets, masks = make_batch(pieces, weights, rng, batch_size)
            loss = masked_nll(
                network(torch.from_numpy(inputs)),
                torch.from_numpy(targets),
                torch.from_numpy(masks),
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        for group in optimizer.param_groups:
            group["lr"] = base_lr
        network.eval()
        with torch.no_grad():
            inputs, targets, masks = held_out
            val = float(
                masked_nll(
                    network(torch.from_numpy(inputs)),
                    torch.from_numpy(targets),
                    torch.from_numpy(masks),
                )
            )
        history.append(
            {
                "stage": "train",
                "epoch": round_number,
                "train_loss": round(float(np.mean(losses)), 4) if losses else None,
                "val_loss": round(val, 4),
                "steps": len(losses),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
        progress.advance(loss=history[-1]["train_loss"], val_loss=round(val, 3))
        after_round(round_number, history)
        round_number += 1
    if not history:
        raise TrainError("no time was left to train; pass more --minutes")
    return history


def fixed_windows(
    pieces: list[Piece], seed: int, share: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every whole WINDOW of each piece, untransposed, each cell hidden with ``share``: the
    same cells every time (seeded), so losses compare across runs."""
    rng = np.random.default_rng(seed)
    windows = []
    for piece in pieces:
        pitches = piece.grid.pitches
        for start in range(0, len(pitches) - WINDOW + 1, WINDOW):
            windows.append(to_classes(pitches[start : start + WINDOW]))
    if not windows:
        raise TrainError("the test pieces are shorter than one window; add longer pieces")
    classes = np.stack(windows)
    masks = rng.random(classes.shape) < share
    return encode(classes, ~masks), classes, masks


def train_inpaint(
    options: ComposerOptions, out: Path, progress: TrainProgress, cache_dir: Path
) -> Any:
    from lensbox.composer.evaluate import evaluate_generator
    from lensbox.composer.report import composer_sections
    from lensbox.composer.studio import open_composer
    from lensbox.manifest import OutputSpec
    from lensbox.train.callbacks import Checkpointer
    from lensbox.train.loop import resume_from, save_epoch

    torch = require("torch", extra="train")
    started = time.perf_counter()
    data = read_training_pieces(options, cache_dir, progress)
    torch.manual_seed(options.seed)
    network = build_inpainter(options.channels)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)  # decay is by time
    checkpoints = Checkpointer(out / "checkpoints")
    fingerprint = data.fingerprint()
    resumed = resume_from(
        checkpoints, options, fingerprint, network, optimizer, scheduler, progress,
        "the training pieces",
    )  # fmt: skip
    test = data.corpus.held_out
    budget = options.minutes * 60 - (time.perf_counter() - started)

    def after_round(number: int, rows: list[dict[str, Any]]) -> None:
        save_epoch(
            checkpoints, options, fingerprint, list(VOICES), number, network, optimizer,
            scheduler, resumed.history + rows,
        )  # fmt: skip

    rng = np.random.default_rng(options.seed + resumed.start_epoch)
    history = resumed.history + train_steps(
        network, optimizer, data, max(budget, 10.0), rng, options.batch_size, progress,
        resumed.start_epoch, after_round,
    )  # fmt: skip
    probe = fixed_windows(test[:2], seed=7)[0]

    def score(folder: Path) -> dict[str, Any]:
        return evaluate_generator(open_composer(folder)[1], test, seed=options.seed)

    return package_composer(
        network, out, data, options, progress, started, history, probe, score,
        composer_sections(out), resumed.resumed, INPUT_CHANNELS,
        OutputSpec(name="logits", kind="logits", decode="softmax-over-pitch"),
        "masked inpainting (Coconet-style), annealed Gibbs sampling",
        {
            "model": "inpaint",
            "input_layout": "(batch, 4 voices x 50 classes one-hot + 4 known-masks, steps)",
            "output_layout": "(batch, 4 voices, 50 classes, steps)",
        },
    )  # fmt: skip


def package_composer(
    network: Any,
    out: Path,
    data: ComposerData,
    options: ComposerOptions,
    progress: TrainProgress,
    started: float,
    history: list[dict[str, Any]],
    probe: np.ndarray,
    score: Any,
    sections: tuple[Any, ...],
    resumed: bool,
    input_channels: int,
    output: Any,
    route: str,
    task_params: dict[str, Any],
) -> Any:
    """The package every composer model makes: task ``compose``, a time axis of any length,
    the split and the data in the provenance, scored on the test pieces."""
    from lensbox.manifest import InputSpec
    from lensbox.train.packaging import package_model

    return package_model(
        model=network.eval(),
        out=out,
        task="compose",
        labels=list(VOICES),
        spec=InputSpec(height=input_channels, width=WINDOW, color="gray", scale=1.0),
        outputs=[output],
        probe=probe,
        report=data,
        options=options,
        provenance={
            "data": data.corpus.source,
            "split": "pieces sorted by path, index i from 0: i % 5 == 0 held out",
            "train_pieces": len(data.corpus.train),
            "test_pieces": len(data.corpus.test),
            "route": route,
            "resumed": resumed,
        },
        task_params={
            **task_params,
            "classes": "0 rest, k: MIDI pitch 35 + k",
            "steps_per_quarter": STEPS_PER_QUARTER,
            "pitch_low": PITCH_LOW,
            "pitch_high": PITCH_HIGH,
            "window": WINDOW,
        },
        history=history,
        progress=progress,
        started=started,
        score_folder=score,
        report_sections=sections,
        extra_dynamic={2: "steps"},
    )
