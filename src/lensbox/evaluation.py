"""Evaluate a model package on labelled data with onnxruntime: the artefact a device runs.

This is the one entry point for every task: it opens the package as a device would, finds the
task's registered evaluator by name, refuses options that do not apply, and adds what every
report carries (the model, the data, the throughput). The scoring itself lives with each task.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lensbox.errors import LensboxError
from lensbox.manifest import load_package
from lensbox.tasks import get_evaluator


def model_info(engine: Any) -> dict[str, Any]:
    return {"name": engine.name, "sha256": engine.sha256, "task": engine.manifest.task}


def evaluate_package(
    package_path: str | Path,
    root: str | Path,
    options: dict[str, Any] | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> dict[str, Any]:
    """Score the package at ``package_path`` on the dataset at ``root``.

    ``options`` are the evaluate flags that were given (None values are dropped); one that the
    task's evaluator does not take is an error naming it."""
    from lensbox.runtime.engine import Engine

    task = load_package(package_path).manifest.task
    evaluator = get_evaluator(task)
    given = {k: v for k, v in (options or {}).items() if v is not None}
    for name in given:
        if name not in evaluator.options:
            raise LensboxError(f"--{name.replace('_', '-')} does not apply to a {task} model")
    engine = Engine.open(package_path, threads=threads, backend=backend)
    start = time.perf_counter()
    result = evaluator.run(engine, Path(root), **given)
    wall = time.perf_counter() - start
    count = result.get(f"n_{evaluator.unit}", 0)
    result[f"{evaluator.unit}_per_second"] = round(count / wall, 2) if wall else 0.0
    result["model"] = model_info(engine)
    result["backend"] = engine.backend
    result["data"] = str(root)
    return result
