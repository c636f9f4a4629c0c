"""Where a package's held-out score comes from when the user names no --eval folder: the
split its trainer held out, rebuilt from the manifest's provenance (the dataset's path and
fingerprint, the split's seed and share), never guessed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lensbox.errors import DataError
from lensbox.manifest import ModelManifest


@contextmanager
def heldout_target(manifest: ModelManifest, source: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(data folder, evaluate options) of the package's own held-out split."""
    provenance = manifest.provenance
    dataset = provenance.get("dataset_path")
    if not dataset or not Path(dataset).is_dir():
        raise DataError(
            f"{source}: the data it was trained on ({dataset or 'not recorded'}) is not here; "
            "pass --eval DIR with labelled held-out data"
        )
    if manifest.task == "classify":
        with _classify_validation(manifest, Path(dataset), source) as folder:
            yield folder, {}
        return
    split = manifest.metrics.get("evaluated_on")
    if manifest.task in ("detect", "segment") and split:
        yield Path(dataset), {"split": split}
        return
    raise DataError(
        f"{source}: its trainer recorded no held-out split for a {manifest.task} model; "
        "pass --eval DIR with labelled held-out data"
    )


@contextmanager
def _classify_validation(manifest: ModelManifest, dataset: Path, source: str) -> Iterator[Path]:
    """The classifier's seeded, stratified validation share as a class-folder tree of links."""
    from lensbox.data.imagefolder import scan_imagefolder
    from lensbox.train.split import stratified_split

    recipe = manifest.provenance.get("recipe", {})
    report = scan_imagefolder(dataset)
    if report.fingerprint() != manifest.provenance.get("dataset_sha256"):
        raise DataError(
            f"{source}: {dataset} has changed since training (its fingerprint differs), so "
            "its validation split cannot be rebuilt; pass --eval DIR"
        )
    labels = [s.label for s in report.samples]
    _, val = stratified_split(
        labels, float(recipe.get("val_fraction", 0.15)), int(recipe.get("seed", 0))
    )
    folder = Path(tempfile.mkdtemp(prefix="lensbox-heldout-"))
    try:
        for index in val:
            sample = report.samples[index]
            target = folder / report.labels[sample.label] / f"{index:05d}-{sample.path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(sample.path, target)
            except OSError:
                shutil.copyfile(sample.path, target)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
