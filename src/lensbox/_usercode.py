"""Loading a user's Python file (an inference function, a reward function) and saying where in
it something went wrong: the user's file and line, never lensbox's traceback."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from lensbox.errors import LensboxError


def load_user_module(path: Path, error: type[LensboxError]) -> ModuleType:
    """Import ``path`` as a fresh module; a syntax error or a failing import becomes one
    ``error`` line naming the file and the line."""
    if not path.is_file():
        raise error(f"{path}: no such file")
    name = f"lensbox_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise error(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise error(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise error(
            f"{path}:{user_line(exc, path) or '?'}: importing it failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return module


def user_line(exc: BaseException, path: Path) -> int | None:
    """The line of the deepest frame of ``exc``'s traceback that lies in ``path``."""
    target = str(path.resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename).resolve().as_posix() == Path(target).as_posix():
            line = frame.lineno
    return line
