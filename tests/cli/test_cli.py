"""The CLI contract: exit codes, one-line errors, and exactly one JSON document with --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import add_bad_files, cli_in_process, make_imagefolder, synthetic_image


def lensbox(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lensbox", *args], capture_output=True, text=True, timeout=timeout
    )


def test_data_check_lists_one_line_per_problem(imagefolder: Path) -> None:
    bad = add_bad_files(imagefolder)
    result = lensbox("data", "check", str(imagefolder))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    for key in ("corrupt", "text", "tiny", "dup_a", "dup_b"):
        assert sum(str(bad[key]) + ":" in line for line in lines) == 1, key
    assert "Traceback" not in result.stderr


def test_data_check_json_is_one_document(imagefolder: Path) -> None:
    add_bad_files(imagefolder)
    result = lensbox("data", "check", str(imagefolder), "--json")
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["classes"] == {"compost": 12, "landfill": 12, "recycling": 12}
    assert sorted(p["kind"] for p in document["problems"]) == [
        "label_conflict",
        "label_conflict",
        "not_image",
        "too_small",
        "unreadable",
    ]


@pytest.mark.parametrize("case", ["missing", "empty", "single"])
def test_unusable_folders_get_one_line_and_exit_1(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / case
    if case == "empty":
        folder.mkdir()
    if case == "single":
        make_imagefolder(folder, per_class=3, classes={"paper": (200, 200, 200)})
    for command in (
        ["data", "check", str(folder)],
        ["train", str(folder), "--task", "classify", "--out", str(tmp_path / "m")],
    ):
        code, _, stderr = cli_in_process(capsys, *command)
        assert code == 1, (command, stderr)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(folder) in errors[0], stderr
        assert "Traceback" not in stderr


def test_train_json_reports_skipped_files(trained_package: Path, session_dir: Path) -> None:
    summary = json.loads((session_dir / "train-stdout.json").read_text())
    assert summary["out"] == str(trained_package)
    assert len(summary["skipped"]) == 5
    assert summary["parity_max_abs_diff"] <= 1e-4
    stderr = (session_dir / "train-stderr.txt").read_text()
    assert "skipped" in stderr and "Traceback" not in stderr


def test_evaluate_matches_labels_by_name_and_subsets(trained_package: Path, tmp_path: Path) -> None:
    # Classes in another order (only two of three), named like the model's labels.
    data = make_imagefolder(
        tmp_path / "eval",
        per_class=6,
        seed=3,
        classes={"recycling": (30, 80, 200), "compost": (60, 140, 40)},
    )
    result = lensbox("evaluate", str(trained_package), str(data), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in (
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion_matrix",
        "labels",
        "n_images",
        "images_per_second",
        "most_confused",
    ):
        assert key in report
    assert report["n_images"] == 12 and report["accuracy"] >= 0.9
    assert report["labels"] == ["compost", "landfill", "recycling"]
    assert report["per_class"]["recycling"]["support"] == 6
    assert report["per_class"]["landfill"]["support"] == 0


def test_evaluate_refuses_an_unknown_class(trained_package: Path, tmp_path: Path) -> None:
    data = make_imagefolder(tmp_path / "eval", per_class=2, classes={"glass": (1, 1, 1)})
    result = lensbox("evaluate", str(trained_package), str(data))
    assert result.returncode == 1
    assert "glass" in result.stderr and "not labels of the model" in result.stderr


def test_predict_json_and_a_bad_file(trained_package: Path, tmp_path: Path) -> None:
    good = tmp_path / "green.png"
    synthetic_image((60, 140, 40), 77).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    result = lensbox("predict", str(trained_package), str(good), str(bad), "--top-k", "2", "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["predictions"][0]["label"] == "compost"
    assert len(document["predictions"][0]["top_k"]) == 2
    assert document["errors"][0]["path"] == str(bad)


def test_tampered_package_is_refused_with_one_line(trained_package: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_package, copy, ignore=shutil.ignore_patterns("checkpoints"))
    with open(copy / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    result = lensbox("predict", str(copy), str(tmp_path))
    assert result.returncode == 1
    assert "sha256" in result.stderr and "Traceback" not in result.stderr


def test_an_error_line_is_never_wrapped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / ("a-rather-long-folder-name-" * 6) / "empty"
    folder.mkdir(parents=True)
    code, _, stderr = cli_in_process(capsys, "data", "check", str(folder))
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1 and str(folder) in errors[0], stderr
