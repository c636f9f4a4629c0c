"""Activity clip folders and packages that carry more than one file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from lensbox.errors import ChecksumError, PackageError
from lensbox.manifest import load_package, write_package, zip_package
from tests.helpers import cli_in_process, lensbox
from tests.helpers.onnx_models import colour_classifier_onnx, colour_package
from tests.helpers.vision_data import write_activity


def test_bad_clips_get_one_line_each(tmp_path: Path) -> None:
    root = write_activity(tmp_path / "clips", per_label=2)
    (root / "moving" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    (root / "still" / "notes.txt").write_text("a stray file")
    proc = lensbox("data", "check", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["task"] == "activity" and report["n_clips"] == 4
    assert report["classes"] == {"moving": 2, "still": 2}
    by_file = {Path(p["path"]).name: p["message"] for p in report["problems"]}
    assert sorted(by_file) == ["broken.mp4", "notes.txt"]
    assert "broken.mp4" in by_file["broken.mp4"] and "not a video clip" in by_file["notes.txt"]


def test_one_label_is_refused(tmp_path: Path) -> None:
    root = write_activity(tmp_path / "clips", per_label=1)
    for clip in (root / "still").iterdir():
        clip.unlink()
    (root / "still").rmdir()
    proc = lensbox("data", "check", str(root), "--task", "activity")
    assert proc.returncode == 1 and "needs at least two" in proc.stderr


def test_extra_files_are_zipped_checksummed_and_verified(tmp_path: Path) -> None:
    base = colour_package(tmp_path / "base")
    package = write_package(
        tmp_path / "pkg", colour_classifier_onnx(), base.manifest, {"head.onnx": b"head bytes"}
    )
    assert set(package.manifest.files) == {"head.onnx"}
    archive = zip_package(package.root, tmp_path / "pkg.zip")
    assert set(zipfile.ZipFile(archive).namelist()) == {"model.onnx", "manifest.json", "head.onnx"}
    assert load_package(archive).manifest.files == package.manifest.files
    (package.root / "head.onnx").write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=r"head\.onnx sha256"):
        load_package(package.root)
    (package.root / "head.onnx").unlink()
    with pytest.raises(PackageError, match=r"lists head\.onnx"):
        load_package(package.root)


@pytest.mark.parametrize("task", ["detect", "segment", "activity"])
@pytest.mark.parametrize("case", ["missing", "empty"])
def test_unusable_folders_get_one_error_line(
    task: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    if case == "empty":
        folder.mkdir()
    for command in (
        ["data", "check", str(folder), "--task", task],
        ["train", str(folder), "--task", task, "--out", str(tmp_path / "m")],
    ):
        code, _, stderr = cli_in_process(capsys, *command)
        assert code == 1, (command, stderr)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(folder) in errors[0], stderr
        assert "Traceback" not in stderr
