from __future__ import annotations

from pathlib import Path

import pytest

from lensbox.data.imagefolder import scan_imagefolder
from lensbox.errors import DataError
from tests.helpers import add_bad_files, make_imagefolder


def test_clean_folder_counts_every_class(imagefolder: Path) -> None:
    report = scan_imagefolder(imagefolder)
    assert report.can_train
    assert report.labels == ["compost", "landfill", "recycling"]
    assert report.counts() == {"compost": 12, "landfill": 12, "recycling": 12}
    assert report.problems == []


def test_each_bad_file_gets_one_problem_with_its_reason(imagefolder: Path) -> None:
    bad = add_bad_files(imagefolder)
    report = scan_imagefolder(imagefolder)
    by_path = {p.path: p for p in report.problems}
    assert by_path[bad["corrupt"]].kind == "unreadable"
    assert by_path[bad["text"]].kind == "not_image"
    assert by_path[bad["tiny"]].kind == "too_small"
    assert "10x10" in by_path[bad["tiny"]].message
    assert by_path[bad["dup_a"]].kind == "label_conflict"
    assert by_path[bad["dup_b"]].kind == "label_conflict"
    assert str(bad["dup_b"]) in by_path[bad["dup_a"]].message
    assert len(report.problems) == 5
    assert report.can_train  # the rest still trains
    assert sum(report.counts().values()) == 36
    assert all(str(p.path) in p.message and "\n" not in p.message for p in report.problems)


def test_duplicate_inside_one_class_is_used_once(imagefolder: Path) -> None:
    source = imagefolder / "compost" / "compost0.jpg"
    (imagefolder / "compost" / "again.jpg").write_bytes(source.read_bytes())
    report = scan_imagefolder(imagefolder)
    assert [p.kind for p in report.problems] == ["duplicate"]
    assert report.counts()["compost"] == 12


def test_missing_folder_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        scan_imagefolder(tmp_path / "nope")


def test_empty_folder_and_single_class_cannot_train(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = scan_imagefolder(empty)
    assert not report.can_train and "no class folders" in report.errors[0]
    single = make_imagefolder(tmp_path / "single", per_class=3, classes={"only": (1, 2, 3)})
    report = scan_imagefolder(single)
    assert not report.can_train and "only one usable class" in report.errors[0]
    with pytest.raises(DataError):
        report.raise_if_unusable()


def test_empty_class_is_reported_and_left_out(imagefolder: Path) -> None:
    (imagefolder / "hazardous").mkdir()
    report = scan_imagefolder(imagefolder)
    assert report.can_train
    assert "hazardous" not in report.labels
    assert report.empty_classes == ["hazardous"]
    assert any(p.kind == "empty_class" for p in report.problems)


def test_fingerprint_follows_content_not_paths(tmp_path: Path) -> None:
    a = scan_imagefolder(make_imagefolder(tmp_path / "a", per_class=4))
    b = scan_imagefolder(make_imagefolder(tmp_path / "b", per_class=4))
    assert a.fingerprint() == b.fingerprint()
    (tmp_path / "b" / "compost" / "compost0.jpg").unlink()
    assert scan_imagefolder(tmp_path / "b").fingerprint() != a.fingerprint()
