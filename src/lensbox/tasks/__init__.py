"""Task registry: a task is a plug-in module, found by name, never an ``if task == ...`` chain.

Task modules keep torch out entirely, so the runtime can use their decoding and drawing on a
device; each registers its task, its evaluator and the dataset layout it reads.
"""

from __future__ import annotations

from lensbox.data.layout import Layout, guess_task, register_layout
from lensbox.tasks._base import (
    DataReport,
    EngineLike,
    Evaluator,
    ImportProbe,
    Task,
    get_evaluator,
    get_task,
    importable_task_names,
    register_evaluator,
    register_task,
    task_names,
    unregister,
)

# Importing a task module registers it.
from lensbox.tasks import classify as _classify  # noqa: F401  isort: skip
from lensbox.tasks import detect as _detect  # noqa: F401  isort: skip
from lensbox.tasks import segment as _segment  # noqa: F401  isort: skip
from lensbox.tasks import activity as _activity  # noqa: F401  isort: skip
from lensbox.tasks import drive as _drive  # noqa: F401  isort: skip

__all__ = [
    "DataReport",
    "EngineLike",
    "Evaluator",
    "ImportProbe",
    "Layout",
    "Task",
    "get_evaluator",
    "get_task",
    "guess_task",
    "importable_task_names",
    "register_evaluator",
    "register_layout",
    "register_task",
    "task_names",
    "unregister",
]
