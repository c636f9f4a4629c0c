"""The user's inference function (DeepLens's inference Lambda), loaded from a Python file.

``process(result, context) -> dict | None`` runs after every result; a returned dict is merged
into the published message. An optional ``draw(image, result, output, context)`` adds to the
project stream. An exception in either is logged with the frame number; the pipeline goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._usercode import load_user_module
from lensbox.errors import FunctionError
from lensbox.results import Result

PROJECT_FILE = "project.json"


@dataclass
class FunctionContext:
    """What a function sees besides the result: its config, the model's labels, its own state."""

    config: dict[str, Any]
    labels: list[str]
    model_name: str
    state: dict[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("lensbox.function"))


class InferenceFunction:
    def __init__(
        self,
        process: Callable[[Result, FunctionContext], dict[str, Any] | None],
        draw: Callable[..., None] | None,
        context: FunctionContext,
        source: str,
    ) -> None:
        self.process = process
        self.draw_fn = draw
        self.context = context
        self.source = source
        self.errors = 0
        self._log = logging.getLogger("lensbox.function")

    @classmethod
    def load(
        cls,
        path: str | Path,
        labels: list[str],
        model_name: str,
        config: dict[str, Any] | None = None,
        task: str | None = None,
    ) -> InferenceFunction:
        """Load ``process`` (and ``draw``) from a .py file or a project folder.

        The config comes from ``config`` or else from ``project.json`` beside the file.
        """
        target = Path(path)
        if target.is_dir():
            target = target / project_function_name(target)
        if not target.is_file():
            raise FunctionError(f"{target}: no such inference function file")
        project = load_project(target.parent) if (target.parent / PROJECT_FILE).is_file() else {}
        made_for = project.get("task")
        if task and made_for and made_for != task:
            raise FunctionError(
                f"{target.parent}: project {project.get('name', '')!r} is made for {made_for} "
                f"models but this model is a {task} model; start a project for its task with "
                "lensbox project init"
            )
        if config is None:
            config = project.get("config", {})
        module = load_user_module(target, FunctionError)
        process = getattr(module, "process", None)
        if not callable(process):
            raise FunctionError(f"{target}: defines no process(result, context) function")
        draw = getattr(module, "draw", None)
        context = FunctionContext(config=config, labels=labels, model_name=model_name)
        return cls(process, draw if callable(draw) else None, context, str(target))

    def __call__(self, result: Result) -> dict[str, Any] | None:
        """Run ``process``; on an exception log it with the frame number and return None."""
        try:
            output = self.process(result, self.context)
        except Exception as exc:
            self.errors += 1
            self._log.error(
                "inference function %s failed at frame %d: %s: %s",
                self.source,
                result.frame_index,
                type(exc).__name__,
                exc,
            )
            return None
        if output is not None and not isinstance(output, dict):
            self.errors += 1
            self._log.error(
                "inference function %s returned %s at frame %d; expected a dict or None",
                self.source,
                type(output).__name__,
                result.frame_index,
            )
            return None
        return output

    def draw(self, image: np.ndarray, result: Result, output: dict[str, Any] | None) -> None:
        if self.draw_fn is None:
            return
        try:
            self.draw_fn(image, result, output, self.context)
        except Exception as exc:
            self.errors += 1
            self._log.error(
                "inference function %s draw() failed at frame %d: %s: %s",
                self.source,
                result.frame_index,
                type(exc).__name__,
                exc,
            )


def load_project(folder: Path) -> dict[str, Any]:
    path = folder / PROJECT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FunctionError(f"{path}: cannot read project config: {exc}") from None
    if not isinstance(data, dict):
        raise FunctionError(f"{path}: expected a JSON object")
    return data


def project_function_name(folder: Path) -> str:
    if (folder / PROJECT_FILE).is_file():
        return str(load_project(folder).get("function", "function.py"))
    return "function.py"
