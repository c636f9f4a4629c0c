"""Unpacking user zips safely: no member may escape the target, and no zip bomb."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from lensbox.errors import PackageError


def safe_extract(archive_path: Path, target: Path, max_unpacked: int, max_ratio: float) -> None:
    """Extract into ``target`` (created), refusing escaping paths, links and bombs."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile:
        raise PackageError("upload is not a zip file") from None
    with archive:
        total = 0
        for info in archive.infolist():
            member = Path(info.filename)
            if member.is_absolute() or ".." in member.parts or info.filename.startswith("/"):
                raise PackageError(f"zip member {info.filename!r} escapes the folder; refused")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise PackageError(f"zip member {info.filename!r} is a symbolic link; refused")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise PackageError(f"zip member {info.filename!r} expands suspiciously; refused")
        if total > max_unpacked:
            raise PackageError(f"zip unpacks to {total} bytes, over the {max_unpacked} limit")
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
    """A zip of one top-level folder holds the class folders one level down."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        inner = [p for p in entries[0].iterdir() if p.is_dir()]
        if inner and all(any(c.is_file() for c in d.iterdir()) for d in inner):
            return entries[0]
    return folder
