"""Read and validate object-detection datasets in the three formats people actually have.

* Pascal VOC: ``images/`` + ``annotations/*.xml`` (one XML per image, absolute pixel boxes)
* YOLO: ``images/`` + ``labels/*.txt`` (``class cx cy w h``, normalised) + ``classes.txt``
* COCO: ``images/`` + ``annotations.json`` (``bbox`` is ``[x, y, w, h]`` in pixels)

Every annotation file gets a verdict. One that names an unknown class, a box outside its image,
a box with no area or an image that is missing or unreadable is reported on one line and
skipped as a whole: a half-kept file would teach the model that the dropped objects are
background. Splits are read where the dataset defines them (``<split>_labels.csv`` beside a VOC
set, as the raccoon set has; ``images/<split>/`` for YOLO), so ``train`` and ``evaluate`` never
mix them up.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from lensbox._optional import require
from lensbox.data.imagefolder import FileProblem
from lensbox.data.images import IMAGE_EXTENSIONS
from lensbox.data.splits import SplitReport
from lensbox.errors import DataError

# A box may poke this many pixels past the image edge (annotation tools round); more is an error.
EDGE_TOLERANCE_PX = 2.0


@dataclass(frozen=True)
class DetectionSample:
    """One image and its boxes (``xyxy`` in the image's pixels) with class indices."""

    image: Path
    boxes: np.ndarray  # (K, 4) float32
    classes: np.ndarray  # (K,) int64
    size: tuple[int, int]  # (width, height)
    split: str = ""


@dataclass
class DetectionReport(SplitReport[DetectionSample]):
    format: str = "voc"

    def counts(self, samples: Iterable[DetectionSample] | None = None) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for sample in self.samples if samples is None else samples:
            for c in sample.classes:
                counts[self.labels[int(c)]] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "format": self.format,
            "ok": self.can_train,
            "labels": self.labels,
            "n_images": len(self.samples),
            "n_boxes": int(sum(len(s.classes) for s in self.samples)),
            "boxes_per_class": self.counts(),
            "splits": self.split_counts(),
            "n_problems": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "errors": self.errors,
            "fingerprint": self.fingerprint(),
        }


class _Bad(Exception):
    """One annotation file is unusable; the message says why and what to fix."""


def detect_format(root: Path) -> str:
    if (root / "annotations.json").is_file():
        return "coco"
    if (root / "labels").is_dir():
        return "yolo"
    if (root / "annotations").is_dir():
        return "voc"
    raise DataError(
        f"{root}: not a detection dataset; expected images/ with annotations/ (Pascal VOC XML), "
        "labels/ + classes.txt (YOLO) or annotations.json (COCO)"
    )


def scan_detection(root: str | Path) -> DetectionReport:
    """Find the format, read every annotation and check it against its image."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass a detection dataset folder")
    if not (root / "images").is_dir():
        raise DataError(f"{root}: no images/ folder; a detection dataset keeps its photos there")
    fmt = detect_format(root)
    reader = {"voc": _read_voc, "yolo": _read_yolo, "coco": _read_coco}[fmt]
    labels, entries, problems = reader(root)
    report = DetectionReport(root, labels, [], problems, format=fmt)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for outcome in pool.map(_finish, entries):
            if isinstance(outcome, FileProblem):
                report.problems.append(outcome)
            else:
                report.samples.append(outcome)
    report.samples.sort(key=lambda s: str(s.image))
    report.problems.sort(key=lambda p: str(p.path))
    if not labels:
        report.errors.append("no class names found; annotate at least one object")
    elif not report.samples:
        report.errors.append("no usable annotated images (see the problems above)")
    return report


@dataclass(frozen=True)
class _Entry:
    """An annotation read from disk, before its image has been opened."""

    annotation: Path
    image: Path
    boxes: list[tuple[float, float, float, float]]
    classes: list[int]
    normalised: bool = False
    declared_size: tuple[int, int] | None = None
    split: str = ""


def _finish(entry: _Entry) -> DetectionSample | FileProblem:
    try:
        return _validate(entry)
    except _Bad as exc:
        return FileProblem(entry.annotation, "bad_annotation", f"{entry.annotation}: {exc}")


def _validate(entry: _Entry) -> DetectionSample:
    if not entry.image.is_file():
        raise _Bad(f"its image {entry.image} does not exist; add the image or delete the file")
    try:
        with Image.open(entry.image) as image:
            image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _Bad(f"its image {entry.image.name} cannot be decoded ({exc}); replace it") from None
    if entry.declared_size and entry.declared_size != (width, height):
        raise _Bad(
            f"says the image is {entry.declared_size[0]}x{entry.declared_size[1]} but "
            f"{entry.image.name} is {width}x{height}; re-annotate or fix <size>"
        )
    boxes = np.asarray(entry.boxes, dtype=np.float32).reshape(-1, 4)
    if entry.normalised:
        boxes = boxes * np.array([width, height, width, height], dtype=np.float32)
    for number, (x1, y1, x2, y2) in enumerate(boxes, start=1):
        if not (x2 > x1 and y2 > y1):
            raise _Bad(f"box {number} ({x1:g},{y1:g},{x2:g},{y2:g}) has no area; fix or delete it")
        tol = EDGE_TOLERANCE_PX
        if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
            raise _Bad(
                f"box {number} ({x1:g},{y1:g},{x2:g},{y2:g}) lies outside the {width}x{height} "
                "image; fix its coordinates"
            )
    boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
    return DetectionSample(
        entry.image,
        boxes,
        np.asarray(entry.classes, dtype=np.int64),
        (width, height),
        entry.split,
    )


def _read_class_list(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n]


def _find_image(folder: Path, stem: str) -> Path:
    for ext in sorted(IMAGE_EXTENSIONS):
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return folder / f"{stem}.jpg"


def _csv_splits(root: Path) -> dict[str, str]:
    """``train_labels.csv`` / ``test_labels.csv`` (the raccoon set's split) -> file -> split."""
    splits: dict[str, str] = {}
    for path in sorted(root.glob("*_labels.csv")):
        split = path.name[: -len("_labels.csv")]
        if split in ("raccoon", "all", ""):
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("filename"):
                    splits.setdefault(row["filename"], split)
    return splits


def _read_voc(root: Path) -> tuple[list[str], list[_Entry], list[FileProblem]]:
    fixed = _read_class_list(root / "classes.txt") if (root / "classes.txt").is_file() else None
    splits = _csv_splits(root)
    parsed: list[tuple[Path, Path, list[tuple[str, tuple[float, ...]]], tuple[int, int] | None]]
    parsed = []
    problems: list[FileProblem] = []
    for xml_path in sorted((root / "annotations").glob("*.xml")):
        try:
            tree = ET.parse(xml_path).getroot()
            filename = (tree.findtext("filename") or "").strip()
            image = (
                root / "images" / filename
                if filename
                else _find_image(root / "images", xml_path.stem)
            )
            size = None
            if tree.find("size") is not None:
                w = tree.findtext("size/width")
                h = tree.findtext("size/height")
                if w and h and int(float(w)) > 0 and int(float(h)) > 0:
                    size = (int(float(w)), int(float(h)))
            objects = []
            for number, obj in enumerate(tree.findall("object"), start=1):
                name = (obj.findtext("name") or "").strip()
                box = obj.find("bndbox")
                if not name or box is None:
                    raise _Bad(f"object {number} has no <name> or <bndbox>")
                coords = tuple(
                    float(box.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax")
                )
                if any(np.isnan(coords)):
                    raise _Bad(f"object {number} lacks one of xmin/ymin/xmax/ymax")
                objects.append((name, coords))
            parsed.append((xml_path, image, objects, size))
        except ET.ParseError as exc:
            problems.append(
                FileProblem(
                    xml_path,
                    "bad_annotation",
                    f"{xml_path}: not valid XML ({exc}); fix or delete it",
                )
            )
        except (_Bad, ValueError) as exc:
            problems.append(FileProblem(xml_path, "bad_annotation", f"{xml_path}: {exc}"))
    labels = fixed or sorted({name for _, _, objects, _ in parsed for name, _ in objects})
    entries = []
    for xml_path, image, objects, size in parsed:
        unknown = sorted({name for name, _ in objects if name not in labels})
        if unknown:
            problems.append(
                FileProblem(
                    xml_path,
                    "bad_annotation",
                    f"{xml_path}: unknown class {unknown[0]!r}; add it to classes.txt or fix the name",
                )
            )
            continue
        entries.append(
            _Entry(
                xml_path,
                image,
                [coords for _, coords in objects],  # type: ignore[misc]
                [labels.index(name) for name, _ in objects],
                declared_size=size,
                split=splits.get(image.name, ""),
            )
        )
    return labels, entries, problems


def _read_yolo(root: Path) -> tuple[list[str], list[_Entry], list[FileProblem]]:
    classes_file = root / "classes.txt"
    if not classes_file.is_file():
        raise DataError(
            f"{root}: a YOLO dataset needs classes.txt (one class name per line, line k = class k)"
        )
    labels = _read_class_list(classes_file)
    problems: list[FileProblem] = []
    entries = []
    images_root = root / "images"
    label_files = {
        p.relative_to(root / "labels").with_suffix(""): p for p in (root / "labels").rglob("*.txt")
    }
    image_files = {
        p.relative_to(images_root).with_suffix(""): p
        for p in images_root.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
    }
    for stem, txt in sorted(label_files.items()):
        split = stem.parts[0] if len(stem.parts) > 1 else ""
        image = image_files.get(stem, images_root / stem.with_suffix(".jpg"))
        try:
            boxes, classes = [], []
            for number, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 5:
                    raise _Bad(
                        f"line {number} has {len(fields)} fields; expected 'class cx cy w h'"
                    )
                cls = int(fields[0])
                cx, cy, w, h = (float(v) for v in fields[1:])
                if not 0 <= cls < len(labels):
                    raise _Bad(
                        f"line {number}: unknown class {cls} (classes.txt has {len(labels)})"
                    )
                if not all(-1e-3 <= v <= 1.001 for v in (cx, cy, w, h)):
                    raise _Bad(
                        f"line {number}: values must be normalised to 0..1, got {line.strip()!r}"
                    )
                boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
                classes.append(cls)
        except _Bad as exc:
            problems.append(FileProblem(txt, "bad_annotation", f"{txt}: {exc}"))
            continue
        except ValueError:
            problems.append(
                FileProblem(txt, "bad_annotation", f"{txt}: a value is not a number; fix the line")
            )
            continue
        entries.append(_Entry(txt, image, boxes, classes, normalised=True, split=split))
    # An image without a label file is a YOLO negative: no objects in it.
    for stem, image in sorted(image_files.items()):
        if stem not in label_files:
            split = stem.parts[0] if len(stem.parts) > 1 else ""
            entries.append(_Entry(image, image, [], [], split=split))
    return labels, entries, problems


def _read_coco(root: Path) -> tuple[list[str], list[_Entry], list[FileProblem]]:
    path = root / "annotations.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = sorted(data["categories"], key=lambda c: c["id"])
        images = {int(i["id"]): i for i in data["images"]}
        annotations = data.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{path}: not a COCO detection file ({type(exc).__name__}: {exc}); it needs "
            "images, annotations and categories"
        ) from None
    labels = [str(c["name"]) for c in categories]
    index_of = {int(c["id"]): i for i, c in enumerate(categories)}
    per_image: dict[int, list[dict[str, Any]]] = {k: [] for k in images}
    problems: list[FileProblem] = []
    bad_images: dict[int, str] = {}
    for ann in annotations:
        image_id = int(ann.get("image_id", -1))
        if image_id not in images:
            problems.append(
                FileProblem(
                    path,
                    "bad_annotation",
                    f"{path}: annotation {ann.get('id')} refers to "
                    f"image_id {image_id}, which is not in images; fix or delete it",
                )
            )
            continue
        if int(ann.get("category_id", -1)) not in index_of:
            bad_images.setdefault(
                image_id,
                f"annotation {ann.get('id')}: unknown category_id {ann.get('category_id')}",
            )
            continue
        per_image[image_id].append(ann)
    entries = []
    for image_id, info in sorted(images.items()):
        where = Path(f"{path}#{info.get('file_name', image_id)}")
        if image_id in bad_images:
            problems.append(
                FileProblem(where, "bad_annotation", f"{where}: {bad_images[image_id]}")
            )
            continue
        boxes = []
        for ann in per_image[image_id]:
            x, y, w, h = (float(v) for v in ann["bbox"])
            boxes.append((x, y, x + w, y + h))
        size = None
        if info.get("width") and info.get("height"):
            size = (int(info["width"]), int(info["height"]))
        entries.append(
            _Entry(
                where,
                root / "images" / str(info["file_name"]),
                boxes,
                [index_of[int(a["category_id"])] for a in per_image[image_id]],
                declared_size=size,
            )
        )
    return labels, entries, problems


@dataclass
class LoadedSample:
    """An image decoded for training or scoring, with its boxes scaled to it."""

    image: np.ndarray  # RGB uint8, longest side <= max_side
    boxes: np.ndarray  # (K, 4) xyxy in this image's pixels
    classes: np.ndarray


def load_sample(sample: DetectionSample, max_side: int) -> LoadedSample:
    """Decode once, shrunk to ``max_side``; annotations are in the stored pixel orientation,
    so no EXIF rotation is applied here (the scan checked sizes against the raw image)."""
    cv2 = require("cv2", extra="runtime")

    with Image.open(sample.image) as opened:
        rgb = np.asarray(opened.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        rgb = cv2.resize(
            rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    return LoadedSample(rgb, sample.boxes * scale, sample.classes)
