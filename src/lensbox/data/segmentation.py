"""Read and validate semantic-segmentation datasets: photos plus per-pixel class masks.

Layouts:

* ``images/`` + ``masks/`` (same file stem), with ``class_dict.csv`` (``index,name,r,g,b``) or
  ``classes.txt`` (line k = class k);
* CamVid's ``<split>/`` + ``<split>annot/`` pairs (``train``, ``val``, ``test``) beside
  ``class_dict.csv``, so the real CamVid folder works as it is and its splits are kept.

A mask is a single-channel PNG of class indices, or an RGB PNG in the ``class_dict.csv``
colours. A mask that is missing, unreadable, of another size than its photo, or holds an index
(or colour) that is no class is reported on one line and its pair skipped.
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from lensbox.data.imagefolder import FileProblem
from lensbox.data.images import IMAGE_EXTENSIONS
from lensbox.data.splits import SplitReport
from lensbox.errors import DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SegmentationSample:
    image: Path
    mask: Path
    split: str = ""


@dataclass
class SegmentationReport(SplitReport[SegmentationSample]):
    colours: list[tuple[int, int, int]] | None = None
    pixel_counts: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        shares = {}
        if self.pixel_counts is not None and self.pixel_counts.sum():
            total = float(self.pixel_counts.sum())
            shares = {
                name: round(float(n) / total, 4)
                for name, n in zip(self.labels, self.pixel_counts, strict=False)
            }
        return {
            "root": str(self.root),
            "ok": self.can_train,
            "labels": self.labels,
            "n_images": len(self.samples),
            "splits": self.split_counts(),
            "pixel_share": shares,
            "n_problems": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "errors": self.errors,
            "fingerprint": self.fingerprint(),
        }


def read_classes(root: Path) -> tuple[list[str], list[tuple[int, int, int]] | None]:
    table = root / "class_dict.csv"
    if table.is_file():
        rows: list[tuple[int, str, tuple[int, int, int]]] = []
        with open(table, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                try:
                    index = int(row.get("index", len(rows)))
                    colour = (int(row["r"]), int(row["g"]), int(row["b"]))
                except (KeyError, TypeError, ValueError):
                    raise DataError(
                        f"{table}: each row needs index,name,r,g,b as integers (row {len(rows) + 1})"
                    ) from None
                rows.append((index, row["name"].strip(), colour))
        rows.sort()
        if [r[0] for r in rows] != list(range(len(rows))):
            raise DataError(f"{table}: indices must run 0..{len(rows) - 1} without gaps")
        return [r[1] for r in rows], [r[2] for r in rows]
    listing = root / "classes.txt"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines()]
        return [n for n in names if n], None
    raise DataError(
        f"{root}: no class_dict.csv (index,name,r,g,b) or classes.txt; add one to name the classes"
    )


def _pairs(root: Path) -> list[SegmentationSample]:
    def images_in(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)

    if (root / "images").is_dir():
        masks = root / "masks"
        if not masks.is_dir():
            raise DataError(f"{root}: images/ has no masks/ beside it; add one PNG mask per image")
        return [SegmentationSample(p, masks / f"{p.stem}.png") for p in images_in(root / "images")]
    pairs = []
    for split in SPLITS:
        if (root / split).is_dir() and (root / f"{split}annot").is_dir():
            pairs += [
                SegmentationSample(p, root / f"{split}annot" / f"{p.stem}.png", split)
                for p in images_in(root / split)
            ]
    if not pairs:
        raise DataError(
            f"{root}: not a segmentation dataset; expected images/ + masks/ (or CamVid's "
            "train/ + trainannot/ ...) and class_dict.csv or classes.txt"
        )
    return pairs


def read_mask(path: Path, colours: list[tuple[int, int, int]] | None) -> np.ndarray:
    """A mask file -> (H, W) uint8 class indices; colour masks go through ``colours``.
    Colours not in the table become 255 (so validation can name them)."""
    with Image.open(path) as opened:
        if opened.mode in ("L", "P", "I", "I;16"):
            return np.asarray(opened if opened.mode in ("L", "P") else opened.convert("I")).astype(
                np.uint8
            )
        rgb = np.asarray(opened.convert("RGB"))
    if colours is None:
        raise ValueError("is an RGB mask but there is no class_dict.csv to map its colours")
    keys = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    out = np.full(keys.shape, 255, dtype=np.uint8)
    for index, (r, g, b) in enumerate(colours):
        out[keys == ((r << 16) | (g << 8) | b)] = index
    return out


def _check_pair(
    sample: SegmentationSample,
    n_classes: int,
    colours: list[tuple[int, int, int]] | None,
    ignore_index: int | None,
) -> FileProblem | np.ndarray:
    if not sample.mask.is_file():
        return FileProblem(
            sample.image,
            "missing_mask",
            f"{sample.image}: no mask {sample.mask.name}; add it or remove the image",
        )
    try:
        with Image.open(sample.image) as photo:
            photo.load()
            size = photo.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        return FileProblem(
            sample.image, "unreadable", f"{sample.image}: cannot be decoded ({exc}); replace it"
        )
    try:
        mask = read_mask(sample.mask, colours)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        return FileProblem(
            sample.mask, "bad_mask", f"{sample.mask}: cannot be decoded ({exc}); replace it"
        )
    except ValueError as exc:
        return FileProblem(sample.mask, "bad_mask", f"{sample.mask}: {exc}")
    if (mask.shape[1], mask.shape[0]) != size:
        return FileProblem(
            sample.mask,
            "bad_mask",
            f"{sample.mask}: is {mask.shape[1]}x{mask.shape[0]} but its image is {size[0]}x{size[1]}; "
            "masks must match their image",
        )
    counts = np.bincount(mask.reshape(-1), minlength=256)
    bad = [int(v) for v in np.nonzero(counts[n_classes:])[0] + n_classes if v != ignore_index]
    if bad:
        what = (
            "a colour not in class_dict.csv"
            if bad == [255] and colours
            else f"class index {bad[0]}"
        )
        return FileProblem(
            sample.mask,
            "bad_mask",
            f"{sample.mask}: holds {what} but there are only {n_classes} classes; fix the mask "
            "or the class list",
        )
    return counts[:n_classes]


def scan_segmentation(root: str | Path, ignore_index: int | None = None) -> SegmentationReport:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass a segmentation dataset folder")
    labels, colours = read_classes(root)
    pairs = _pairs(root)
    report = SegmentationReport(root, labels, [], colours=colours)
    totals = np.zeros(len(labels), dtype=np.int64)
    with ThreadPoolExecutor(max_workers=4) as pool:
        checked = pool.map(lambda s: _check_pair(s, len(labels), colours, ignore_index), pairs)
        for sample, outcome in zip(pairs, checked, strict=True):
            if isinstance(outcome, FileProblem):
                report.problems.append(outcome)
            else:
                report.samples.append(sample)
                totals += outcome
    report.pixel_counts = totals
    if not report.samples:
        report.errors.append("no usable image/mask pairs (see the problems above)")
    return report
