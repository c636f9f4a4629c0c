"""Checks on the real public data in ../shared/data (see its DATA.md): TrashNet photos and a
real camera clip. They skip, saying why, only when that folder is absent."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from lensbox.data.imagefolder import scan_imagefolder


def test_trashnet_check_finds_exactly_the_known_cross_class_duplicate(shared_data: Path) -> None:
    """DATA.md: plastic152 = glass176 is the one byte-identical pair left in this 2/3 split."""
    report = scan_imagefolder(shared_data / "trashnet")
    assert report.can_train
    assert report.labels == ["cardboard", "glass", "metal", "paper", "plastic", "trash"]
    conflicts = sorted(p.path.name for p in report.problems if p.kind == "label_conflict")
    assert conflicts == ["glass176.jpg", "plastic152.jpg"]
    assert len(report.problems) == 2
    assert sum(report.counts().values()) == 1683 - 2


@pytest.mark.slow
def test_trash_sorter_publishes_bins_for_the_bottle_video(
    shared_data: Path, tmp_path: Path, session_dir: Path
) -> None:
    """The real ImageNet MobileNetV2 sees water bottles; the trash sorter sends them to recycling."""
    pytest.importorskip("torch", reason="exporting the ImageNet package needs the train extra")
    from lensbox.train.pretrained_package import imagenet_package

    package = imagenet_package(session_dir / "imagenet").root
    project = tmp_path / "sorter"
    subprocess.run(
        [sys.executable, "-m", "lensbox", "project", "init", "trash-sorter", str(project)],
        check=True,
        capture_output=True,
    )
    results = tmp_path / "results.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lensbox",
            "run",
            str(package),
            "--source",
            str(shared_data / "videos" / "bottle-detection.mp4"),
            "--function",
            str(project / "function.py"),
            "--port",
            "0",
            "--results",
            str(results),
            "--max-frames",
            "240",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    documents = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(documents) == 240
    assert all({"material", "bin", "confidence"} <= set(d) for d in documents)
    bins = Counter(d["bin"] for d in documents)
    assert bins["recycling"] > 120, bins
    assert Counter(d["material"] for d in documents).most_common(1)[0][0] == "water bottle"
