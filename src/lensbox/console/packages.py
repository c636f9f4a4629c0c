"""Checking an uploaded model package zip before anything is trusted: size, zip bombs, paths
that escape, and the manifest's checksum of model.onnx."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from lensbox._zipcheck import check_members, package_prefix
from lensbox.errors import PackageError
from lensbox.manifest import MANIFEST_FILE, MODEL_FILE, parse_manifest


def inspect_package_zip(path: Path, max_unpacked: int, max_ratio: float) -> dict[str, Any]:
    """Validate the zip at ``path``; return its manifest (as a dict) if it is a sound package."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PackageError("upload is not a zip file; zip the package folder") from None
    with archive:
        check_members(archive.infolist(), max_unpacked=max_unpacked, max_ratio=max_ratio)
        names = set(archive.namelist())
        prefix = package_prefix(names, MANIFEST_FILE)
        for wanted in (MODEL_FILE, MANIFEST_FILE):
            if prefix + wanted not in names:
                raise PackageError(f"zip holds no {wanted}; zip the package folder")
        try:
            data = json.loads(archive.read(prefix + MANIFEST_FILE))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PackageError("manifest.json is not valid JSON") from None
        if not isinstance(data, dict):
            raise PackageError("manifest.json is not a JSON object")
        manifest = parse_manifest(data, "manifest.json")
        for name, expected in {MODEL_FILE: manifest.sha256, **manifest.files}.items():
            if prefix + name not in names:
                raise PackageError(f"zip holds no {name}, which the manifest lists")
            digest = hashlib.sha256()
            with archive.open(prefix + name) as member:
                while block := member.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() != expected:
                raise PackageError(f"{name} does not match the manifest's sha256; re-export it")
    return manifest.model_dump(mode="json")
