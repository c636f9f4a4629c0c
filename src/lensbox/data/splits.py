"""Datasets that define their own splits (train/val/test): one way to pick from them."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from lensbox.data.imagefolder import FileProblem
from lensbox.errors import DataError

S = TypeVar("S")


def default_split(splits: list[str], asked: str | None) -> str:
    """Evaluation scores the test split of a dataset that has one, unless told otherwise."""
    if asked:
        return asked
    return "test" if "test" in splits else "all"


@dataclass
class SplitReport(Generic[S]):
    """A scanned dataset whose samples may carry a ``split`` name."""

    root: Path
    labels: list[str]
    samples: list[S]
    problems: list[FileProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def can_train(self) -> bool:
        return not self.errors and bool(self.samples)

    @property
    def splits(self) -> list[str]:
        return sorted({str(getattr(s, "split", "")) for s in self.samples} - {""})

    def select(self, splits: str) -> list[S]:
        """Samples of the comma-separated ``splits``; ``all`` (or a dataset that defines no
        splits) gives every sample."""
        if splits == "all" or not self.splits:
            return list(self.samples)
        wanted = [s for s in splits.split(",") if s]
        if not any(s in self.splits for s in wanted):
            raise DataError(
                f"{self.root}: no split {wanted[0]!r} (it has {self.splits}); use --split all"
            )
        return [s for s in self.samples if getattr(s, "split", "") in wanted]

    def raise_if_unusable(self) -> None:
        if self.errors:
            raise DataError(f"{self.root}: {self.errors[0]}")
        if not self.samples:
            raise DataError(f"{self.root}: no usable samples")

    def fingerprint(self) -> str:
        """A hash of the usable content: every sample's files (by content, not name), its
        annotations by class name, and the label list. Same data, same fingerprint, wherever
        the folder lies; it goes into the manifest and guards ``--resume``."""
        rows = sorted(self._sample_row(sample) for sample in self.samples)
        digest = hashlib.sha256("\n".join(self.labels).encode())
        for row in rows:
            digest.update(row.encode() + b"\n")
        return digest.hexdigest()

    def _sample_row(self, sample: Any) -> str:
        parts = []
        for item in dataclasses.fields(sample):
            value = getattr(sample, item.name)
            if isinstance(value, Path):
                value = _file_sha256(value)
            elif item.name == "label":
                value = self.labels[int(value)]
            elif item.name == "classes":
                value = [self.labels[int(c)] for c in np.asarray(value).reshape(-1)]
            elif isinstance(value, np.ndarray):
                value = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
            parts.append(f"{item.name}={value}")
        return ";".join(parts)

    def split_counts(self) -> dict[str, Any]:
        return {name: len(self.select(name)) for name in self.splits}


def _file_sha256(path: Path) -> str:
    """Cached by (path, size, mtime): a dataset is hashed once per process unless it changes."""
    stat = path.stat()
    return _hash_file(path, stat.st_size, stat.st_mtime_ns)


@cache
def _hash_file(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
