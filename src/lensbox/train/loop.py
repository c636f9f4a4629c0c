"""Pieces every training loop shares: the recipe of options, the learning-rate schedule,
frozen BatchNorm, and the one checkpoint format every trainer saves and resumes from."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from lensbox._optional import require
from lensbox.errors import TrainError
from lensbox.train.callbacks import Checkpointer, TrainProgress


def option(default: Any, help: str) -> Any:
    """A recipe field with the help its ``lensbox train`` flag shows."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainOptions:
    """Options every task takes; a task's options add its recipe to these."""

    seed: int = 0
    device: str = "auto"
    resume: bool = False
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    def validate(self) -> None:
        """Refuse values no trainer can use, with the flag's name (a one-line error)."""
        epochs = getattr(self, "epochs", 0)
        if epochs < 0:
            raise TrainError("--epochs must be 0 or more")
        size = getattr(self, "image_size", None)
        if size is not None and size < 32:
            raise TrainError(f"--image-size must be at least 32, got {size}")
        fraction = getattr(self, "val_fraction", 0.0)
        if not 0 <= fraction < 1:
            raise TrainError(f"--val-fraction must be in [0, 1), got {fraction}")

    def recipe(self) -> dict[str, Any]:
        """What decides the model (saved in checkpoints and the manifest): not where or how
        fast it runs."""
        recipe = asdict(self)
        for runtime_only in ("resume", "device", "workers"):
            recipe.pop(runtime_only)
        return recipe


T = TypeVar("T")
B = TypeVar("B")


def prefetched(batches: Sequence[T], make: Callable[[T], B]) -> Iterator[B]:
    """``make(batch)`` for each batch, the next one built on a side thread while the caller
    trains on this one (augmentation overlaps the optimiser step). Order is kept."""
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(make, batches[0])
        for number in range(len(batches)):
            ready = pending.result()
            if number + 1 < len(batches):
                pending = pool.submit(make, batches[number + 1])
            yield ready


class _SplitOptions(Protocol):
    split: str
    eval_split: str
    val_fraction: float
    seed: int


class _SplitData(Protocol):
    @property
    def splits(self) -> list[str]: ...

    def select(self, splits: str) -> list[Any]: ...


def held_out_split(report: _SplitData, options: _SplitOptions) -> tuple[list[Any], list[Any], str]:
    """(training samples, held-out samples, the held-out part's name).

    The data's own ``eval_split`` (e.g. ``test``) when it has one that is not trained on; else,
    with ``val_fraction``, a seeded random share of the training split; else nothing."""
    train = report.select(options.split)
    held_name = options.eval_split if options.eval_split in report.splits else ""
    trained_on = options.split.split(",")
    held = report.select(held_name) if held_name and held_name not in trained_on else []
    if not held and options.val_fraction > 0:
        order = np.random.default_rng(options.seed).permutation(len(train))
        n_val = max(1, round(len(order) * options.val_fraction))
        held = [train[i] for i in order[:n_val]]
        train = [train[i] for i in order[n_val:]]
        held_name = "validation"
    return train, held, held_name if held else ""


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when a GPU is there, else cpu; asking for a missing GPU is an error."""
    torch = require("torch", extra="train")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError(
            "--device cuda was asked for but no CUDA GPU is available; use auto or cpu"
        )
    if name not in ("cpu", "cuda"):
        raise TrainError(f"unknown --device {name!r}; use auto, cpu or cuda")
    return name


def warmup_cosine(optimizer: Any, total_steps: int, warmup_steps: int) -> Any:
    """Linear warm-up from 10% then a cosine decay to 0, stepped once per batch."""
    torch = require("torch", extra="train")
    total = max(1, total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return 0.1 + 0.9 * step / max(1, warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / max(1, total - warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def freeze_batchnorm(module: Any) -> None:
    """Put BatchNorm layers in eval mode (ImageNet statistics stay); small CPU batches would
    only add noise to them."""
    torch = require("torch", extra="train")
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.eval()


@dataclass
class Resumed:
    """Where a run starts: its history so far, the first epoch still to run, and whatever
    else the trainer saved with each epoch (early-stopping state, the best weights...)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resumed(self) -> bool:
        return self.start_epoch > 1


def resume_from(
    checkpoints: Checkpointer,
    options: TrainOptions,
    dataset: str,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    progress: TrainProgress,
    data_name: str = "the dataset",
) -> Resumed:
    """Load ``last.pt`` when ``--resume`` asks for it, refusing one made with another recipe
    or on other data (``dataset`` is the reader's fingerprint of what ``data_name`` says)."""
    resumed = checkpoints.load_last() if options.resume else None
    if options.resume and resumed is None:
        progress.message(f"no checkpoint in {checkpoints.directory}; starting from scratch")
    if resumed is None:
        return Resumed()
    if resumed["recipe"] != options.recipe():
        raise TrainError(
            f"{checkpoints.last}: checkpoint was made with another recipe "
            f"({resumed['recipe']}); rerun with the same options or without --resume"
        )
    if resumed.get("dataset", dataset) != dataset:
        raise TrainError(
            f"{checkpoints.last}: {data_name} changed since this checkpoint; rerun without --resume"
        )
    try:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        # A checkpoint of another network: one made by an earlier lensbox whose model had
        # other layers (a racer student with boxes gained a state head, say).
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainError(
            f"{checkpoints.last}: checkpoint holds another network than this version trains "
            f"({first[:160]}); rerun without --resume"
        ) from None
    scheduler.load_state_dict(resumed["scheduler"])
    progress.message(f"resumed from {checkpoints.last} after epoch {resumed['epoch']}")
    return Resumed(
        list(resumed["history"]), int(resumed["epoch"]) + 1, dict(resumed.get("extra", {}))
    )


def save_epoch(
    checkpoints: Checkpointer,
    options: TrainOptions,
    dataset: str,
    labels: list[str],
    epoch: int,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    history: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
    best: bool = False,
) -> None:
    """``last.pt`` after every epoch (and ``best.pt`` when ``best``), in the one format
    :func:`resume_from` reads."""
    checkpoints.save(
        {
            "recipe": options.recipe(),
            "dataset": dataset,
            "labels": labels,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "history": history,
            "extra": extra or {},
        },
        best=best,
    )
