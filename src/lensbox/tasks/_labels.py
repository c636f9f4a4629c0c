"""Matching a dataset's class names to a model's, for every task's evaluator."""

from __future__ import annotations

from pathlib import Path

from lensbox.errors import LabelError


def refuse_unknown(root: str | Path, found: list[str], labels: list[str], what: str) -> None:
    """Labels in the data that the model does not know make every score meaningless."""
    unknown = sorted(set(found) - set(labels))
    if unknown:
        shown = ", ".join(labels[:12]) + (" ..." if len(labels) > 12 else "")
        raise LabelError(
            f"{root}: {what} {unknown} are not labels of the model (it knows {shown}); "
            "rename or remove them, or evaluate another model"
        )
