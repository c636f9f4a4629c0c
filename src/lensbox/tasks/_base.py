"""The small interface every task fills, and the registry that finds tasks by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lensbox.errors import LensboxError

if TYPE_CHECKING:
    from lensbox.manifest import ModelManifest, ModelPackage
    from lensbox.runtime.engine import Engine

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

    def new_state(self, package: ModelPackage) -> Any:
        """State a task keeps between the frames of one stream (None: every frame stands
        alone). The engine makes one per model and shares it with its replicas."""
        return None

    def decode_frame(
        self,
        outputs: list[np.ndarray],
        manifest: ModelManifest,
        frame_size: tuple[int, int],
        state: Any,
    ) -> dict[str, Any]:
        """One frame of a stream, in frame order: per-frame tasks just decode it."""
        return self.decode(outputs, manifest, frame_size)[0]

    def predict_file(self, engine: Engine, path: Path) -> dict[str, Any]:
        """``lensbox predict`` on one file: an image for most tasks (a clip for activity)."""
        from lensbox.data.images import load_rgb

        return engine.predict([load_rgb(path)])[0]

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
    def train(self, root: Path, out: Path, options: dict[str, Any], progress: Any = None) -> Any:
        """Train a model package from a dataset folder (needs the train extra)."""

    def train_option_names(self) -> set[str]:
        """The options ``train`` accepts, so the CLI can refuse one that does not apply."""
        return set()

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
