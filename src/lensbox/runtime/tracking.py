"""Where user code written for earlier versions finds the tracker: it lives in
:mod:`lensbox.tasks.tracking`, beside the detection task whose per-stream state it is."""

from lensbox.tasks.tracking import IouTracker, LineCounter

__all__ = ["IouTracker", "LineCounter"]
