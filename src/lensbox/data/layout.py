"""Which task a dataset folder is for, from its layout alone."""

from __future__ import annotations

from pathlib import Path

from lensbox.data.clips import VIDEO_EXTENSIONS
from lensbox.errors import DataError


def guess_task(root: str | Path) -> str:
    """detect (VOC/YOLO/COCO files), segment (masks), activity (clip folders) or classify."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass a dataset folder")
    if (root / "annotations.json").is_file() or (
        (root / "images").is_dir()
        and ((root / "annotations").is_dir() or (root / "labels").is_dir())
    ):
        return "detect"
    if (root / "masks").is_dir() or any(
        (root / f"{s}annot").is_dir() for s in ("train", "val", "test")
    ):
        return "segment"
    for folder in (p for p in root.iterdir() if p.is_dir()):
        if any(f.suffix.lower() in VIDEO_EXTENSIONS for f in folder.iterdir() if f.is_file()):
            return "activity"
    return "classify"
