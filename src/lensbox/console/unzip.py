"""Unpacking user zips safely: no member may escape the target, and no zip bomb."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from lensbox._zipcheck import check_members
from lensbox.errors import PackageError


def safe_extract(archive_path: Path, target: Path, max_unpacked: int, max_ratio: float) -> None:
    """Extract into ``target`` (created), refusing escaping paths, links and bombs."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile:
        raise PackageError("upload is not a zip file") from None
    with archive:
        check_members(archive.infolist(), max_unpacked=max_unpacked, max_ratio=max_ratio)
        staging = target.with_name(f".{target.name}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                out = staging / info.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            staging.replace(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def dataset_root(folder: Path) -> Path:
    """A zip of one top-level folder holds the dataset one level down (no dataset of any
    task is a single folder: an ImageFolder has two classes, the others images/ and more)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder
