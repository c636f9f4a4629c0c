"""Pieces every training loop shares: the recipe of options, the learning-rate schedule,
frozen BatchNorm, and resuming from the last checkpoint."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from lensbox._optional import require
from lensbox.errors import TrainError
from lensbox.train.callbacks import Checkpointer, TrainProgress


@dataclass
class TrainOptions:
    """Options every task takes; a task's options add its recipe to these."""

    seed: int = 0
    device: str = "auto"
    resume: bool = False
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    def recipe(self) -> dict[str, Any]:
        """What decides the model (saved in checkpoints and the manifest): not where or how
        fast it runs."""
        recipe = asdict(self)
        for runtime_only in ("resume", "device", "workers"):
            recipe.pop(runtime_only)
        return recipe


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


def resume_from(
    checkpoints: Checkpointer,
    options: TrainOptions,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    progress: TrainProgress,
) -> tuple[list[dict[str, Any]], int]:
    """Load ``last.pt`` when ``--resume`` asks for it; returns (history, first epoch to run)."""
    resumed = checkpoints.load_last() if options.resume else None
    if options.resume and resumed is None:
        progress.message(f"no checkpoint in {checkpoints.directory}; starting from scratch")
    if resumed is None:
        return [], 1
    if resumed["recipe"] != options.recipe():
        raise TrainError(
            f"{checkpoints.last}: checkpoint was made with another recipe; rerun with the same "
            "options or without --resume"
        )
    model.load_state_dict(resumed["model"])
    optimizer.load_state_dict(resumed["optimizer"])
    scheduler.load_state_dict(resumed["scheduler"])
    progress.message(f"resumed from {checkpoints.last} after epoch {resumed['epoch']}")
    return list(resumed["history"]), int(resumed["epoch"]) + 1


def save_epoch(
    checkpoints: Checkpointer,
    options: TrainOptions,
    labels: list[str],
    epoch: int,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    history: list[dict[str, Any]],
) -> None:
    checkpoints.save(
        {
            "recipe": options.recipe(),
            "labels": labels,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "history": history,
        },
        best=False,
    )
