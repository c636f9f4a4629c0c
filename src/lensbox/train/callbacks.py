"""Training callbacks: progress on stderr, checkpoints on disk, early stopping.

Each has one job, so a run can swap the progress display (tests, the console's job runner)
without touching the loop.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lensbox._atomic import atomic_write_with
from lensbox._optional import require


class TrainProgress(Protocol):
    def stage(self, name: str, total: int) -> None: ...
    def advance(self, steps: int = 1, **fields: Any) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class RichProgress:
    """A rich progress bar on stderr: stage, count, loss/accuracy fields, elapsed and ETA."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._progress.start()

    def stage(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(name, total=total, info="")

    def advance(self, steps: int = 1, **fields: Any) -> None:
        if self._task is None:
            return
        info = "  ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
        )
        self._progress.update(self._task, advance=steps, info=info)

    def message(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()


class JsonlProgress:
    """Progress as JSON lines in a file (for the console's training jobs), and on to another
    display. Each line: {"stage", "done", "total", ...fields}."""

    def __init__(self, path: Path, inner: TrainProgress | None = None) -> None:
        self.path = path
        self.inner = inner
        self._stage = ""
        self._done = 0
        self._total = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def _write(self, record: dict[str, Any]) -> None:
        import json
        import time

        self._handle.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")

    def stage(self, name: str, total: int) -> None:
        self._stage, self._done, self._total = name, 0, total
        self._write({"stage": name, "done": 0, "total": total})
        if self.inner:
            self.inner.stage(name, total)

    def advance(self, steps: int = 1, **fields: Any) -> None:
        self._done += steps
        self._write({"stage": self._stage, "done": self._done, "total": self._total, **fields})
        if self.inner:
            self.inner.advance(steps, **fields)

    def message(self, text: str) -> None:
        self._write({"stage": self._stage, "message": text})
        if self.inner:
            self.inner.message(text)

    def close(self) -> None:
        self._handle.close()
        if self.inner:
            self.inner.close()


class QuietProgress:
    """No output: for tests and library use."""

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1, **fields: Any) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class EarlyStopping:
    """Stop when the monitored score has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, best: float = -math.inf, waited: int = 0) -> None:
        self.patience = patience
        self.best = best
        self.waited = waited

    def update(self, score: float) -> bool:
        """Record a score; return True when it is a new best."""
        if score > self.best:
            self.best = score
            self.waited = 0
            return True
        self.waited += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.waited >= self.patience

    def state(self) -> dict[str, float | int]:
        return {"best": self.best, "waited": self.waited}


class Checkpointer:
    """Saves ``last.pt`` every epoch and ``best.pt`` on improvement, atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def last(self) -> Path:
        return self.directory / "last.pt"

    @property
    def best(self) -> Path:
        return self.directory / "best.pt"

    def save(self, state: dict[str, Any], best: bool) -> None:
        self._write(self.last, state)
        if best:
            self._write(self.best, state)

    def load_last(self) -> dict[str, Any] | None:
        if not self.last.is_file():
            return None
        torch = require("torch", extra="train")
        loaded: dict[str, Any] = torch.load(self.last, map_location="cpu", weights_only=False)
        return loaded

    def _write(self, path: Path, state: dict[str, Any]) -> None:
        torch = require("torch", extra="train")
        atomic_write_with(path, lambda tmp: torch.save(state, tmp))
