"""Task registry: a task is a plug-in module, found by name, never an ``if task == ...`` chain.

Task modules keep torch behind imports inside the functions that need it, so the runtime can
use their decoding and drawing without torch.
"""

from __future__ import annotations

from lensbox.tasks._base import Task, get_task, register_task, task_names

# Importing a task module registers it.
from lensbox.tasks import classify as _classify  # noqa: F401  isort: skip
from lensbox.tasks import detect as _detect  # noqa: F401  isort: skip
from lensbox.tasks import segment as _segment  # noqa: F401  isort: skip
from lensbox.tasks import activity as _activity  # noqa: F401  isort: skip

__all__ = ["Task", "get_task", "register_task", "task_names"]
