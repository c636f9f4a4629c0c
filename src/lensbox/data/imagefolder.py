"""Scan and validate an ImageFolder tree (one subfolder per class) before anything trains on it.

Every file gets a verdict: usable, or a problem with a reason a person can act on. Training
uses the same scan, so what ``lensbox data check`` reports is exactly what ``train`` skips.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbox.data.images import IMAGE_EXTENSIONS, MIN_SIDE, load_rgb
from lensbox.errors import DataError, ImageError


@dataclass(frozen=True)
class FileProblem:
    """One file that will not be trained on, and why."""

    path: Path
    kind: str  # unreadable | not_image | too_small | label_conflict | duplicate | stray_file
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int
    sha256: str


@dataclass
class DatasetReport:
    """The result of a scan: usable samples per class, per-file problems, and fatal errors."""

    root: Path
    labels: list[str]
    samples: list[Sample]
    problems: list[FileProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)

    @property
    def can_train(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for sample in self.samples:
            counts[self.labels[sample.label]] += 1
        return counts

    def fingerprint(self) -> str:
        """A hash of the usable content and labels: same data, same fingerprint."""
        digest = hashlib.sha256()
        for sample in sorted(self.samples, key=lambda s: (s.label, s.sha256)):
            digest.update(f"{self.labels[sample.label]}:{sample.sha256}\n".encode())
        return digest.hexdigest()

    def raise_if_unusable(self) -> None:
        if self.errors:
            raise DataError(f"{self.root}: {self.errors[0]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.can_train,
            "classes": self.counts(),
            "n_images": len(self.samples),
            "n_problems": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "empty_classes": self.empty_classes,
            "errors": self.errors,
            "fingerprint": self.fingerprint(),
        }


@dataclass(frozen=True)
class _Checked:
    path: Path
    class_name: str
    sha256: str
    problem: FileProblem | None


def _check_file(path: Path, class_name: str) -> _Checked:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        problem = FileProblem(
            path,
            "not_image",
            f"{path}: not an image file type ({path.suffix or 'no extension'})"
            "; move it out of the dataset",
        )
        return _Checked(path, class_name, digest, problem)
    try:
        rgb = load_rgb(path)
    except ImageError as exc:
        kind = "not_image" if "not an image" in str(exc) else "unreadable"
        return _Checked(path, class_name, digest, FileProblem(path, kind, str(exc)))
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        problem = FileProblem(
            path,
            "too_small",
            f"{path}: image is {width}x{height}, smaller than {MIN_SIDE} px on a side; remove it",
        )
        return _Checked(path, class_name, digest, problem)
    return _Checked(path, class_name, digest, None)


def scan_imagefolder(
    root: str | Path,
    workers: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
) -> DatasetReport:
    """Validate every file under ``root``'s class folders; raise only if ``root`` is unusable."""
    base = Path(root)
    if not base.exists():
        raise DataError(f"{base}: no such folder; pass a folder with one subfolder per class")
    if not base.is_dir():
        raise DataError(f"{base}: not a folder; pass a folder with one subfolder per class")

    class_dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    problems: list[FileProblem] = []
    for stray in sorted(p for p in base.iterdir() if p.is_file() and not p.name.startswith(".")):
        problems.append(
            FileProblem(stray, "stray_file", f"{stray}: file outside any class folder; ignored")
        )

    jobs: list[tuple[Path, str]] = []
    for class_dir in class_dirs:
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.parts[-2:]):
                jobs.append((path, class_dir.name))

    checked: list[_Checked] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, result in enumerate(pool.map(lambda job: _check_file(*job), jobs), start=1):
            checked.append(result)
            if on_progress is not None:
                on_progress(done, len(jobs))

    # The same bytes under two classes is a labelling mistake: neither copy can be trusted.
    classes_by_hash: dict[str, set[str]] = defaultdict(set)
    paths_by_hash: dict[str, list[Path]] = defaultdict(list)
    for item in checked:
        if item.problem is None:
            classes_by_hash[item.sha256].add(item.class_name)
            paths_by_hash[item.sha256].append(item.path)

    labels_all = [d.name for d in class_dirs]
    seen: set[str] = set()
    usable: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for item in checked:
        if item.problem is not None:
            problems.append(item.problem)
            continue
        if len(classes_by_hash[item.sha256]) > 1:
            others = [str(p) for p in paths_by_hash[item.sha256] if p != item.path]
            problems.append(
                FileProblem(
                    item.path,
                    "label_conflict",
                    f"{item.path}: same bytes filed under another class ({', '.join(others)});"
                    " keep one copy in the right class",
                )
            )
            continue
        if item.sha256 in seen:
            first = paths_by_hash[item.sha256][0]
            problems.append(
                FileProblem(item.path, "duplicate", f"{item.path}: duplicate of {first}; used once")
            )
            continue
        seen.add(item.sha256)
        usable[item.class_name].append((item.path, item.sha256))

    empty = [name for name in labels_all if not usable[name]]
    labels = [name for name in labels_all if usable[name]]
    label_index = {name: i for i, name in enumerate(labels)}
    samples = [
        Sample(path, label_index[name], digest) for name in labels for path, digest in usable[name]
    ]

    errors: list[str] = []
    if not class_dirs:
        errors.append("no class folders; put each class's images in a subfolder named after it")
    elif len(labels) < 2:
        if labels:
            errors.append(
                f"only one usable class ({labels[0]!r}); classification needs at least two "
                "class folders with images"
            )
        else:
            errors.append("no usable images in any class folder")
    for name in empty:
        problems.append(
            FileProblem(
                base / name,
                "empty_class",
                f"{base / name}: class has no usable images; it is left out of training",
            )
        )
    return DatasetReport(base, labels, samples, problems, errors, empty)
