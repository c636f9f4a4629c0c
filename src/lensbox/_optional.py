"""Heavy dependencies are imported on demand, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from lensbox.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an error telling which ``lensbox[extra]`` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is not installed; install it with: pip install 'lensbox[{extra}]'"
        ) from exc
