"""The small interface every task fills, and the registries that find tasks and their
evaluators by name.

A task sits above ``data/`` and below ``runtime/``: it decodes, draws, summarises and scores,
but never opens an engine itself. What it needs of one is the :class:`EngineLike` protocol,
which ``runtime.Engine`` satisfies; evaluation (above the runtime) opens the engine and hands
it down. Training lives in ``train/``, which registers a trainer per task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from lensbox._registry import Registry
from lensbox.errors import PackageError

if TYPE_CHECKING:
    from lensbox.manifest import ModelManifest, ModelPackage, OutputSpec

TASKS: Registry[Task] = Registry("task")
EVALUATORS: Registry[Evaluator] = Registry("evaluator")


class EngineLike(Protocol):
    """What a task may ask of a running model: its manifest, raw runs and decoded predictions,
    and the per-stream state the task itself made in :meth:`Task.new_state`."""

    manifest: ModelManifest
    state: Any

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...

    def predict(
        self, images: list[np.ndarray], order: Literal["rgb", "bgr"] = "rgb"
    ) -> list[dict[str, Any]]: ...


class DataReport(Protocol):
    """What every dataset reader returns: enough for ``data check`` and for training."""

    root: Path
    labels: list[str]
    problems: list[Any]
    errors: list[str]

    @property
    def can_train(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...

    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class ImportProbe:
    """A foreign ONNX model's outputs on one test input, for ``Task.import_outputs``."""

    path: Path  # the ONNX file
    labels_path: Path
    names: list[str]  # output names, in order
    values: list[np.ndarray]
    labels: list[str]
    options: dict[str, Any]  # task-specific import flags (e.g. boxes_normalized)


class Task(ABC):
    """What lensbox needs to know about one task on the device side and in ``data check``."""

    name: str = ""
    description: str = ""
    # Foreign ONNX models this task can wrap (``lensbox model import``); empty: none.
    import_formats: str = ""
    # The command that trains this task's models (a registered trainer for ``lensbox train``).
    trained_by: str = "lensbox train"

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

    def predict_file(self, engine: EngineLike, path: Path) -> dict[str, Any]:
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
    def check_data(self, root: Path) -> DataReport:
        """Validate a dataset folder in this task's format."""

    def import_outputs(self, probe: ImportProbe) -> tuple[list[OutputSpec], dict[str, Any]]:
        """Check a foreign model's outputs (from one test inference) against this task's
        standard form; return the manifest's outputs and task parameters."""
        raise PackageError(
            f"--task {self.name}: importing needs a standard output format, and {self.name} "
            f"models have none; supported: {', '.join(importable_task_names())}"
        )


@dataclass(frozen=True)
class Evaluator:
    """How ``lensbox evaluate`` scores one task's package on labelled data.

    ``run(engine, root, **options)`` returns the metrics; ``options`` names the evaluate flags
    that apply (others are refused); ``headline`` the metrics a one-line summary shows;
    ``unit`` what the data is counted in."""

    task: str
    run: Callable[..., dict[str, Any]]
    options: frozenset[str] = frozenset()
    headline: tuple[str, ...] = ()
    unit: str = "images"


def register_task(task: Task) -> Task:
    """Add a task to the registry; a duplicate name is a programming error."""
    return TASKS.add(task.name, task)


# Packages lensbox makes that are not frame models: what to use them with instead.
NOT_FRAME_MODELS = {"compose": "a composer model; use it with `lensbox composer generate`"}


def get_task(name: str) -> Task:
    if name in NOT_FRAME_MODELS:
        raise PackageError(f"task {name!r}: {NOT_FRAME_MODELS[name]}")
    return TASKS.get(name)


def task_names() -> list[str]:
    return TASKS.names()


def importable_task_names() -> list[str]:
    return [task.name for task in TASKS.values() if task.import_formats]


def register_evaluator(evaluator: Evaluator) -> Evaluator:
    return EVALUATORS.add(evaluator.task, evaluator)


def get_evaluator(task: str) -> Evaluator:
    return EVALUATORS.get(task)


def unregister(name: str) -> None:
    """Forget a task and its evaluator (for plug-ins loaded and dropped at run time, and tests)."""
    TASKS.remove(name)
    EVALUATORS.remove(name)
