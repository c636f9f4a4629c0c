"""The custom-GAN exercise: a conditional WGAN-GP whose generator writes alto, tenor and bass
for a given soprano, on four-bar piano rolls of the chorales (MuseGAN's setting, small).

The generator outputs a distribution over pitches per voice and step; the critic sees those
beside the real one-hot rolls, with the melody, and learns to tell them apart; the gradient
penalty keeps it 1-Lipschitz (Gulrajani et al.). The report shows both losses per round and a
harmonised test melody per round, so the user watches the GAN learn.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.composer.chorales import Piece
from lensbox.composer.gan import NOISE_CHANNELS
from lensbox.composer.grid import N_CLASSES, STEPS_PER_BAR, VOICES
from lensbox.composer.train import (
    WINDOW,
    ComposerOptions,
    build_network,
    package_composer,
    random_window,
    read_training_pieces,
)
from lensbox.train.callbacks import TrainProgress

# Critic updates per generator update: WGAN-GP's paper uses 5; with a few minutes on two cores
# 2 gives the generator 2.5x the updates, and its critic still keeps ahead (measured: the
# Wasserstein estimate falls steadily either way).
CRITIC_STEPS = 2
PENALTY = 10.0


def build_generator(channels: int = 128) -> Any:
    """Melody one-hot + per-bar noise in, alto/tenor/bass distributions out."""
    return build_network(N_CLASSES + NOISE_CHANNELS, 3, channels, (1, 2, 4, 8, 1, 2), softmax=True)


def build_critic(channels: int = 128) -> Any:
    torch = require("torch", extra="train")
    nn = torch.nn

    class Critic(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv1d(4 * N_CLASSES, channels, 3, padding=1), nn.LeakyReLU(0.2),
                nn.Conv1d(channels, channels, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
                nn.Conv1d(channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv1d(channels, channels, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
                nn.Conv1d(channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv1d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2),
            )  # fmt: skip
            self.out = nn.Linear(channels, 1)

        def forward(self, x: Any) -> Any:
            return self.out(self.body(x).mean(dim=2))

    return Critic()


def _one_hot(classes: np.ndarray) -> np.ndarray:
    """(B, T, V) classes -> (B, V, N_CLASSES, T) float32."""
    batch, steps, voices = classes.shape
    roll = np.zeros((batch, voices, N_CLASSES, steps), dtype=np.float32)
    b, t, v = np.indices(classes.shape)
    roll[b, v, classes, t] = 1.0
    return roll


def _noise(rng: np.random.Generator, batch: int, steps: int) -> np.ndarray:
    bars = steps // STEPS_PER_BAR
    noise = rng.standard_normal((batch, NOISE_CHANNELS, bars)).astype(np.float32)
    return np.repeat(noise, STEPS_PER_BAR, axis=2)


def train_gan(options: ComposerOptions, out: Path, progress: TrainProgress, cache_dir: Path) -> Any:
    from lensbox.composer.evaluate import evaluate_generator
    from lensbox.composer.report import gan_sections
    from lensbox.composer.studio import open_composer
    from lensbox.manifest import OutputSpec
    from lensbox.train.callbacks import Checkpointer
    from lensbox.train.loop import resume_from, save_epoch

    torch = require("torch", extra="train")
    started = time.perf_counter()
    data = read_training_pieces(options, cache_dir, progress)
    torch.manual_seed(options.seed)
    generator, critic = build_generator(), build_critic(channels=96)
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    scheduler = torch.optim.lr_scheduler.LambdaLR(g_opt, lambda _: 1.0)
    checkpoints = Checkpointer(out / "checkpoints")
    fingerprint = data.fingerprint()
    resumed = resume_from(
        checkpoints, options, fingerprint, generator, g_opt, scheduler, progress,
        "the training pieces",
    )  # fmt: skip
    if resumed.resumed:
        critic.load_state_dict(resumed.extra["critic"])
        d_opt.load_state_dict(resumed.extra["critic_optimizer"])
    pieces = data.corpus.train
    test = data.corpus.held_out
    lengths = np.asarray([p.grid.steps for p in pieces], dtype=float)
    weights = lengths / lengths.sum()
    rng = np.random.default_rng(options.seed + resumed.start_epoch)
    showcase = _showcase(test[0])
    history = list(resumed.history)
    budget = options.minutes * 60 - (time.perf_counter() - started)
    deadline = time.monotonic() + max(budget, 10.0)
    round_seconds = 45.0
    round_number = resumed.start_epoch
    progress.stage("GAN (WGAN-GP)", max(1, int(budget // round_seconds)))

    def batch() -> tuple[Any, Any]:
        chosen = rng.choice(len(pieces), size=options.batch_size, p=weights)
        classes = np.stack([random_window(pieces[i], rng) for i in chosen])
        roll = torch.from_numpy(_one_hot(classes))  # (B, 4, C, T)
        return roll, torch.from_numpy(_noise(rng, len(chosen), WINDOW))

    def fake_of(roll: Any, noise: Any) -> Any:
        lower = generator(torch.cat([roll[:, 0], noise], dim=1))
        return torch.cat([roll[:, :1], lower], dim=1).flatten(1, 2)

    while time.monotonic() < deadline:
        round_end = min(deadline, time.monotonic() + round_seconds)
        generator.train()
        d_losses, g_losses, distances = [], [], []
        while time.monotonic() < round_end:
            for _ in range(CRITIC_STEPS):
                roll, noise = batch()
                real = roll.flatten(1, 2)
                with torch.no_grad():
                    fake = fake_of(roll, noise)
                alpha = torch.rand(len(real), 1, 1)
                mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
                gradient = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
                penalty = ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean()
                distance = critic(real).mean() - critic(fake).mean()
                d_loss = -distance + PENALTY * penalty
                d_opt.zero_grad()
                d_loss.backward()
                d_opt.step()
            roll, noise = batch()
            g_loss = -critic(fake_of(roll, noise)).mean()
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            d_losses.append(float(d_loss.detach()))
            g_losses.append(float(g_loss.detach()))
            distances.append(float(distance.detach()))
        generator.eval()
        history.append(
            {
                "stage": "gan",
                "epoch": round_number,
                "critic_loss": round(float(np.mean(d_losses)), 4) if d_losses else None,
                "generator_loss": round(float(np.mean(g_losses)), 4) if g_losses else None,
                "wasserstein_estimate": round(float(np.mean(distances)), 4) if distances else None,
                "generator_steps": len(g_losses),
                "seconds": round(time.perf_counter() - started, 1),
                "sample": _sample(generator, showcase),
            }
        )
        progress.advance(critic=history[-1]["critic_loss"], generator=history[-1]["generator_loss"])
        save_epoch(
            checkpoints, options, fingerprint, list(VOICES), round_number, generator, g_opt,
            scheduler, history,
            extra={"critic": critic.state_dict(), "critic_optimizer": d_opt.state_dict()},
        )  # fmt: skip
        round_number += 1
    probe = np.concatenate(
        [_one_hot(showcase[None, :, None])[:, 0], _noise(np.random.default_rng(3), 1, WINDOW)],
        axis=1,
    )

    def score(folder: Path) -> dict[str, Any]:
        return evaluate_generator(open_composer(folder)[1], test, options.seed)

    return package_composer(
        generator, out, data, options, progress, started, history, probe, score,
        gan_sections(), resumed.resumed, N_CLASSES + NOISE_CHANNELS,
        OutputSpec(name="probabilities", kind="probabilities", decode="argmax"),
        "conditional WGAN-GP on four-bar piano rolls (MuseGAN-style)",
        {
            "model": "gan",
            "input_layout": "(batch, 50 melody classes one-hot + 16 noise channels, steps)",
            "output_layout": "(batch, 3 voices: alto tenor bass, 50 classes, steps)",
        },
    )  # fmt: skip


def _showcase(piece: Piece) -> np.ndarray:
    """The first window of a test piece's soprano, as classes: harmonised after every round."""
    from lensbox.composer.grid import to_classes

    soprano = piece.grid.pitches[:WINDOW, 0]
    padded = np.full(WINDOW, -1, dtype=np.int16)
    padded[: len(soprano)] = soprano
    return to_classes(padded)


def _sample(generator: Any, showcase: np.ndarray) -> list[list[int]]:
    """The generator's voices for the showcase melody: (T, 4) classes, as lists for JSON."""
    torch = require("torch", extra="train")
    roll = _one_hot(showcase[None, :, None])[:, 0]
    noise = _noise(np.random.default_rng(0), 1, WINDOW)
    with torch.no_grad():
        probs = generator(torch.from_numpy(np.concatenate([roll, noise], axis=1)))[0].numpy()
    lower = probs.argmax(axis=1).T  # (T, 3)
    return np.column_stack([showcase, lower]).tolist()
