from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from lensbox.errors import ChecksumError, PackageError, SchemaError
from lensbox.manifest import (
    InputSpec,
    ModelManifest,
    OutputSpec,
    load_package,
    sha256_file,
    write_package,
)


def _manifest(**changes: object) -> ModelManifest:
    base = ModelManifest(
        name="m",
        task="classify",
        labels=["a", "b"],
        input=InputSpec(height=32, width=32),
        outputs=[OutputSpec(name="logits")],
        sha256="0" * 64,
    )
    return base.model_copy(update=changes)


def test_write_then_load_round_trips_and_records_the_real_sha256(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", b"not really onnx", _manifest())
    assert package.sha256 == sha256_file(tmp_path / "pkg" / "model.onnx")
    loaded = load_package(tmp_path / "pkg")
    assert loaded.manifest == package.manifest
    assert not list((tmp_path / "pkg").glob(".*.tmp"))


def test_edited_model_is_refused_with_checksum_error(tmp_path: Path) -> None:
    write_package(tmp_path / "pkg", b"original", _manifest())
    (tmp_path / "pkg" / "model.onnx").write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match="does not match the manifest"):
        load_package(tmp_path / "pkg")


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d.pop("labels"), "labels"),
        (lambda d: d.update(task=3), "task"),
        (lambda d: d.update(schema_version=99), "newer than this lensbox supports"),
        (lambda d: d["input"].update(std=[1, 0, 1]), "std"),
    ],
)
def test_schema_problems_name_the_field(tmp_path: Path, edit, fragment: str) -> None:
    write_package(tmp_path / "pkg", b"x", _manifest())
    path = tmp_path / "pkg" / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=fragment):
        load_package(tmp_path / "pkg")


def test_zip_package_with_or_without_top_folder(tmp_path: Path) -> None:
    write_package(tmp_path / "pkg", b"bytes", _manifest())
    for prefix in ("", "pkg/"):
        archive = tmp_path / f"p{len(prefix)}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for name in ("model.onnx", "manifest.json"):
                zf.write(tmp_path / "pkg" / name, prefix + name)
        assert load_package(archive).manifest.labels == ["a", "b"]


def test_zip_member_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../model.onnx", b"x")
        zf.writestr("manifest.json", b"{}")
    with pytest.raises(PackageError, match="escapes"):
        load_package(archive)


def test_missing_package_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no such model package"):
        load_package(tmp_path / "absent")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.onnx").write_bytes(b"x")
    with pytest.raises(PackageError, match=r"manifest\.json"):
        load_package(tmp_path / "half")
