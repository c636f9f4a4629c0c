"""Projects: a model plus an inference function plus its config, started from a template."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from lensbox.errors import LensboxError


def template_names() -> list[str]:
    root = resources.files("lensbox.projects").joinpath("templates")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def init_project(template: str, directory: Path, force: bool = False) -> list[Path]:
    """Copy a template's files into ``directory``; refuse to overwrite unless ``force``."""
    if template not in template_names():
        raise LensboxError(
            f"unknown project template {template!r}; available: {', '.join(template_names())}"
        )
    source = resources.files("lensbox.projects").joinpath("templates", template)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for item in source.iterdir():
        if not item.is_file() or item.name.startswith((".", "__")):
            continue
        target = directory / item.name
        if target.exists() and not force:
            raise LensboxError(f"{target}: already exists; pass --force to overwrite")
        with resources.as_file(item) as path:
            shutil.copyfile(path, target)
        written.append(target)
    return sorted(written)
