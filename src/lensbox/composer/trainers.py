"""``lensbox composer train --model inpaint|gan``: which trainer a model name means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lensbox.composer.gan_train import train_gan
from lensbox.composer.train import ComposerOptions, train_inpaint
from lensbox.errors import TrainError
from lensbox.train.callbacks import TrainProgress

TRAINERS = {"inpaint": train_inpaint, "gan": train_gan}


def train_composer(
    options: ComposerOptions, out: Path, progress: TrainProgress, cache_dir: Path
) -> Any:
    """Data, the model of ``options.model``, ONNX package, held-out measures, report."""
    trainer = TRAINERS.get(options.model)
    if trainer is None:
        raise TrainError(f"--model {options.model}: unknown model; use {' or '.join(TRAINERS)}")
    return trainer(options, out, progress, cache_dir)
