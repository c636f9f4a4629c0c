"""Every published message as one JSON line, in a file that rotates at a size limit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from lensbox.runtime.sinks.base import Message


class JsonlSink:
    """Appends one line per message; ``results.jsonl`` -> ``.1`` -> ... ``.N`` when it grows."""

    name = "jsonl"

    def __init__(self, path: Path, handle: IO[str], max_bytes: int, backups: int) -> None:
        self.path = path
        self._handle = handle
        self.max_bytes = max_bytes
        self.backups = backups
        self.lines = 0

    @classmethod
    def open(cls, path: str | Path, max_bytes: int = 50 << 20, backups: int = 5) -> JsonlSink:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115  (owned by the sink)
        return cls(target, handle, max_bytes, backups)

    def __call__(self, message: Message) -> None:
        self._handle.write(message.text + "\n")
        self.lines += 1
        if self.max_bytes and self._handle.tell() >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        self._handle.close()
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._handle = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
