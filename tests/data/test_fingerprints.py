"""Every dataset reader fingerprints what it read: the content, not where it lies.

The fingerprint goes into each manifest (``dataset_sha256``) and guards ``--resume``, so it must
not change when a folder is copied elsewhere, and must change when a label or a pixel does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lensbox.tasks import get_task
from tests.helpers import make_imagefolder
from tests.helpers.vision_data import (
    detection_samples,
    write_activity,
    write_segmentation,
    write_voc,
)


def _first(root: Path, pattern: str) -> Path:
    return sorted(root.rglob(pattern))[0]


def _relabel_voc(root: Path) -> None:
    xml = _first(root, "*.xml")
    text = xml.read_text()
    xml.write_text(text.replace("<xmin>", "<xmin>1", 1))  # one box edge moves


def _swap_classes(root: Path) -> None:
    a, b = sorted(p for p in root.iterdir() if p.is_dir())[:2]
    moved = _first(a, "*.*")
    shutil.move(moved, b / ("moved_" + moved.name))


def _touch_mask(root: Path) -> None:
    import cv2

    mask_path = _first(root / "masks", "*.png")
    mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
    mask[:6, :6] = 0
    cv2.imwrite(str(mask_path), mask)


CASES: dict[str, tuple[Callable[[Path], Path], Callable[[Path], None]]] = {
    "classify": (lambda root: make_imagefolder(root, per_class=4), _swap_classes),
    "detect": (lambda root: write_voc(root, detection_samples(6, seed=2)), _relabel_voc),
    "segment": (lambda root: write_segmentation(root, n=4), _touch_mask),
    "activity": (lambda root: write_activity(root, per_label=2), _swap_classes),
}


@pytest.mark.parametrize("task", sorted(CASES))
def test_fingerprint_follows_content_not_location(task: str, tmp_path: Path) -> None:
    write, change = CASES[task]
    original = write(tmp_path / "a")
    copy = Path(shutil.copytree(original, tmp_path / "elsewhere" / "b"))
    check = get_task(task).check_data
    first = check(original).fingerprint()
    assert len(first) == 64
    assert check(copy).fingerprint() == first
    assert check(original).to_dict()["fingerprint"] == first
    change(copy)
    assert check(copy).fingerprint() != first
