"""Training: needs the ``train`` extra (torch, torchvision). The runtime never imports it.

Importing this package registers every built-in trainer (their modules keep torch inside the
functions that need it, so looking a trainer up stays light).
"""

from __future__ import annotations

from lensbox.train.registry import (
    Flag,
    Trainer,
    TrainResult,
    get_trainer,
    register_trainer,
    trainer_names,
    unregister_trainer,
)

# Importing a trainer module registers it.
from lensbox.train import classify as _classify  # noqa: F401  isort: skip
from lensbox.train import detect as _detect  # noqa: F401  isort: skip
from lensbox.train import segment as _segment  # noqa: F401  isort: skip
from lensbox.train import activity as _activity  # noqa: F401  isort: skip

__all__ = [
    "Flag",
    "TrainResult",
    "Trainer",
    "get_trainer",
    "register_trainer",
    "trainer_names",
    "unregister_trainer",
]
