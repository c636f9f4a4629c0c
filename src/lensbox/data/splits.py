"""Datasets that define their own splits (train/val/test): one way to pick from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from lensbox.data.imagefolder import FileProblem
from lensbox.errors import DataError

S = TypeVar("S")


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

    def split_counts(self) -> dict[str, Any]:
        return {name: len(self.select(name)) for name in self.splits}
