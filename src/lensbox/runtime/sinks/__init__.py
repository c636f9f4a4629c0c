"""Sinks: plain callables that receive every published message. One failing sink is logged
and isolated by the pipeline; it never stops inference or the other sinks.
"""

from lensbox.runtime.sinks.base import Message, Sink
from lensbox.runtime.sinks.jsonl import JsonlSink

__all__ = ["JsonlSink", "Message", "Sink"]
