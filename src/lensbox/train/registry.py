"""Trainers, registered by the module that trains each task, and the one result they return.

What differs per task is data here: the options dataclass (its fields are the task's train
flags, with their defaults and help), the headline metrics, whether ``--resume`` applies and
why not, and extra report sections. ``lensbox train``, the console and the benchmarks look a
trainer up by task name and never branch on it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbox._registry import Registry
from lensbox.errors import TrainError
from lensbox.manifest import ModelManifest, Parity
from lensbox.tasks import DataReport
from lensbox.train.callbacks import QuietProgress, TrainProgress
from lensbox.train.loop import TrainOptions

TRAINERS: Registry[Trainer] = Registry("trainer")

# Options every trainer takes, given as their own CLI flags rather than per task.
COMMON_OPTIONS = ("seed", "device", "resume")
# Options that describe where the run happens, not the model: never CLI flags.
HIDDEN_OPTIONS = ("workers",)

ReportSection = Callable[[ModelManifest, list[dict[str, Any]]], str]


@dataclass
class TrainResult:
    """What every trainer returns: the package it wrote and how it got there."""

    out: Path
    task: str
    labels: list[str]
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    parity: Parity | None
    report: DataReport
    seconds: float
    best_epoch: int | None = None


@dataclass(frozen=True)
class Flag:
    """One task-specific train flag, read off an options dataclass field."""

    name: str  # the field name
    type: type
    default: Any
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Trainer:
    task: str
    options: type[TrainOptions]
    run: Callable[[Path, Path, Any, TrainProgress], TrainResult]
    headline: tuple[str, ...] = ()
    # Why --resume does not apply (empty: it does).
    no_resume: str = ""
    report_sections: tuple[ReportSection, ...] = ()

    def flags(self) -> list[Flag]:
        hints = typing.get_type_hints(self.options)
        flags = []
        for item in dataclasses.fields(self.options):
            if item.name in COMMON_OPTIONS or item.name in HIDDEN_OPTIONS:
                continue
            default: Any = item.default
            factory: Any = item.default_factory
            if default is dataclasses.MISSING and factory is not dataclasses.MISSING:
                default = factory()
            kind = _plain_type(hints[item.name])
            flags.append(Flag(item.name, kind, default, str(item.metadata.get("help", ""))))
        return flags

    def make_options(self, given: dict[str, Any]) -> TrainOptions:
        """Options from flags by name (unknown names refused), validated."""
        known = {f.name for f in self.flags()} | set(COMMON_OPTIONS)
        for name in given:
            if name not in known:
                raise TrainError(f"--{name.replace('_', '-')} does not apply to --task {self.task}")
        options = self.options(**given)
        self.check(options)
        return options

    def check(self, options: TrainOptions) -> None:
        """Refuse options this trainer cannot honour, before any work starts."""
        options.validate()
        if options.resume and self.no_resume:
            raise TrainError(f"--resume does not apply to --task {self.task}: {self.no_resume}")

    def train(
        self,
        root: str | Path,
        out: str | Path,
        options: TrainOptions | dict[str, Any] | None = None,
        progress: TrainProgress | None = None,
    ) -> TrainResult:
        if not isinstance(options, TrainOptions):
            options = self.make_options(options or {})
        self.check(options)
        return self.run(Path(root), Path(out), options, progress or QuietProgress())


def _plain_type(hint: Any) -> type:
    """``int | None`` -> int: the type a flag's text converts to."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def register_trainer(trainer: Trainer) -> Trainer:
    return TRAINERS.add(trainer.task, trainer)


def unregister_trainer(task: str) -> None:
    TRAINERS.remove(task)


def get_trainer(task: str) -> Trainer:
    return TRAINERS.get(task)


def trainer_names() -> list[str]:
    return TRAINERS.names()
