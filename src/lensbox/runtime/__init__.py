"""The device runtime: sources -> engine -> function -> sinks. Imports no torch, ever."""

from lensbox.runtime.engine import Engine

__all__ = ["Engine"]
