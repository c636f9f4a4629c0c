"""A small inpainting package trained for seconds on generated four-part pieces: enough for
tests of the plumbing around it (API, pages), not for judging its music."""

from __future__ import annotations

from pathlib import Path


def tiny_inpaint(out: Path, data: Path) -> Path:
    from lensbox.composer.train import ComposerOptions
    from lensbox.composer.trainers import train_composer
    from lensbox.train.callbacks import RichProgress

    options = ComposerOptions(model="inpaint", minutes=0.05, data=str(data), channels=32)
    progress = RichProgress()
    try:
        train_composer(options, out, progress, out.parent / "cache")
    finally:
        progress.close()
    return out
