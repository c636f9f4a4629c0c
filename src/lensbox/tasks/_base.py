"""The small interface every task fills, and the registry that finds tasks by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lensbox.errors import LensboxError

if TYPE_CHECKING:
    from lensbox.manifest import ModelManifest

_REGISTRY: dict[str, Task] = {}


class Task(ABC):
    """What lensbox needs to know about one computer-vision task."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def decode(
        self, outputs: list[np.ndarray], manifest: ModelManifest, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        """Raw model outputs for a batch -> one JSON-ready payload per image."""

    @abstractmethod
    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: ModelManifest) -> None:
        """Draw a payload onto a BGR frame in place (the project stream)."""

    @abstractmethod
    def summary(self, payload: dict[str, Any]) -> str:
        """One human line for a payload (CLI output, logs)."""

    @abstractmethod
    def check_data(self, root: Path) -> Any:
        """Validate a dataset folder in this task's format; returns a report with to_dict()."""

    @abstractmethod
    def train(self, root: Path, out: Path, options: dict[str, Any]) -> Any:
        """Train a model package from a dataset folder (needs the train extra)."""

    @abstractmethod
    def evaluate(self, package_path: Path, root: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Evaluate a model package on a dataset folder with onnxruntime."""


def register_task(task: Task) -> Task:
    """Add a task to the registry; a duplicate name is a programming error."""
    if not task.name:
        raise ValueError("a task needs a name")
    if task.name in _REGISTRY:
        raise ValueError(f"task {task.name!r} is already registered")
    _REGISTRY[task.name] = task
    return task


def get_task(name: str) -> Task:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise LensboxError(f"unknown task {name!r}; known tasks: {known}") from None


def task_names() -> list[str]:
    return sorted(_REGISTRY)
