"""Checks every zip lensbox opens from a user goes through: no member may escape the folder it
is unpacked into, be a symbolic link, or (when limits are given) be a zip bomb."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath

from lensbox.errors import PackageError


def check_members(
    infos: Iterable[zipfile.ZipInfo],
    source: str = "",
    max_unpacked: int | None = None,
    max_ratio: float | None = None,
) -> None:
    """Raise ``PackageError`` (prefixed with ``source``) for the first unsafe member."""
    prefix = f"{source}: " if source else ""
    total = 0
    for info in infos:
        name = info.filename
        member = PurePosixPath(name.replace("\\", "/"))
        if member.is_absolute() or ".." in member.parts:
            raise PackageError(f"{prefix}zip member {name!r} escapes the folder; refused")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise PackageError(f"{prefix}zip member {name!r} is a symbolic link; refused")
        total += info.file_size
        ratio = info.file_size / info.compress_size if info.compress_size else 0.0
        if max_ratio is not None and ratio > max_ratio:
            raise PackageError(f"{prefix}zip member {name!r} expands suspiciously; refused")
    if max_unpacked is not None and total > max_unpacked:
        raise PackageError(f"{prefix}zip unpacks to {total} bytes, over the {max_unpacked} limit")


def package_prefix(names: Iterable[str], manifest_name: str) -> str:
    """'' when the manifest is at the top; 'folder/' when the zip holds one folder around it."""
    files = [n for n in names if not n.endswith("/")]
    if manifest_name in files:
        return ""
    tops = {n.split("/", 1)[0] for n in files}
    return tops.pop() + "/" if len(tops) == 1 else ""
