"""Which task a dataset folder is for, from its layout alone.

Each task registers the layout it reads (``register_layout``); ``guess_task`` asks them in order
of ``priority`` (lowest first) and takes the first that recognises the folder, so a specific
layout (detection's ``annotations/``) is tried before a catch-all (classification's one folder
per class).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lensbox._registry import Registry
from lensbox.errors import DataError

LAYOUTS: Registry[Layout] = Registry("dataset layout")


@dataclass(frozen=True)
class Layout:
    task: str
    matches: Callable[[Path], bool]
    priority: int
    description: str


def register_layout(layout: Layout) -> Layout:
    return LAYOUTS.add(layout.task, layout)


def unregister_layout(task: str) -> None:
    LAYOUTS.remove(task)


def layouts() -> list[Layout]:
    return sorted(LAYOUTS.values(), key=lambda layout: (layout.priority, layout.task))


def guess_task(root: str | Path) -> str:
    """The task of the first registered layout that recognises ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass a dataset folder")
    for layout in layouts():
        if layout.matches(root):
            return layout.task
    known = "; ".join(f"{layout.task}: {layout.description}" for layout in layouts())
    raise DataError(f"{root}: no known dataset layout ({known}); pass --task")
