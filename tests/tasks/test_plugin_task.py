"""A fifth task, written here and nowhere else, goes through the whole command line.

"brightness" regresses an image's mean brightness (0-1). This file registers its dataset layout,
task, evaluator and trainer exactly as a new task module under ``tasks/`` and ``train/`` would;
``data check``, ``train``, ``evaluate --json``, ``predict`` and ``run`` then serve it with no line
changed in lensbox. If one of them needed an ``if task == ...``, this test would fail.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lensbox.data.layout import Layout, register_layout, unregister_layout
from lensbox.data.splits import SplitReport
from lensbox.manifest import InputSpec, OutputSpec
from lensbox.tasks import EngineLike, Evaluator, Task, register_evaluator, register_task, unregister
from lensbox.train import Trainer, TrainResult, register_trainer, unregister_trainer
from lensbox.train.loop import TrainOptions, option
from tests.helpers import cli_in_process, free_port

LABELS_FILE = "brightness.csv"

# -- the plug-in: what a maintainer would write in tasks/brightness.py -----------------------


@dataclass(frozen=True)
class BrightnessSample:
    image: Path
    value: float


@dataclass
class BrightnessReport(SplitReport[BrightnessSample]):
    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.can_train,
            "n_images": len(self.samples),
            "n_problems": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
            "errors": self.errors,
            "fingerprint": self.fingerprint(),
        }


def scan_brightness(root: Path) -> BrightnessReport:
    from lensbox.data.imagefolder import FileProblem
    from lensbox.errors import DataError

    if not (root / LABELS_FILE).is_file():
        raise DataError(f"{root}: no {LABELS_FILE}; write one 'file,brightness' row per image")
    report = BrightnessReport(root, ["brightness"], [])
    with open(root / LABELS_FILE, newline="") as handle:
        for row in csv.DictReader(handle):
            path = root / row["file"]
            try:
                with Image.open(path) as image:
                    image.verify()
            except OSError:
                report.problems.append(
                    FileProblem(path, "unreadable", f"{path}: not a readable image; remove it")
                )
                continue
            report.samples.append(BrightnessSample(path, float(row["brightness"])))
    if not report.samples:
        report.errors.append("no readable images")
    return report


class BrightnessTask(Task):
    name = "brightness"
    description = "regression: how bright an image is, 0 to 1"

    def decode(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        return [{"brightness": round(float(v), 4)} for v in np.asarray(outputs[0]).reshape(-1)]

    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: Any) -> None:
        from lensbox.draw import label_box

        label_box(image, f"brightness {payload['brightness']:.2f}", (10, 10))

    def summary(self, payload: dict[str, Any]) -> str:
        return f"brightness {payload['brightness']:.3f}"

    def check_data(self, root: Path) -> BrightnessReport:
        return scan_brightness(root)


def evaluate_brightness(engine: EngineLike, root: Path) -> dict[str, Any]:
    from lensbox.data.images import load_rgb

    report = scan_brightness(root)
    report.raise_if_unusable()
    predicted = np.array(
        [engine.predict([load_rgb(s.image)])[0]["brightness"] for s in report.samples]
    )
    truth = np.array([s.value for s in report.samples])
    return {
        "mae": round(float(np.abs(predicted - truth).mean()), 4),
        "n_images": len(truth),
        "skipped": [p.to_dict() for p in report.problems],
    }


# -- and in train/brightness.py ---------------------------------------------------------------


@dataclass
class BrightnessOptions(TrainOptions):
    epochs: int = option(300, "optimiser steps over the whole set")
    image_size: int = option(32, "input size in pixels")
    lr: float = option(0.05, "learning rate")


def train_brightness(
    root: Path, out: Path, options: BrightnessOptions, progress: Any
) -> TrainResult:
    import torch

    from lensbox.data.images import load_rgb
    from lensbox.preprocess import to_tensor
    from lensbox.train.packaging import package_model

    started = time.perf_counter()
    report = scan_brightness(root)
    report.raise_if_unusable()
    spec = InputSpec(height=options.image_size, width=options.image_size)
    x = torch.from_numpy(np.stack([to_tensor(load_rgb(s.image), spec) for s in report.samples]))
    y = torch.tensor([[s.value] for s in report.samples], dtype=torch.float32)
    torch.manual_seed(options.seed)
    model = torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 1)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=options.lr)
    history = []
    progress.stage("fit", options.epochs)
    for epoch in range(1, options.epochs + 1):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.append({"epoch": epoch, "stage": "train", "train_loss": float(loss.detach())})
        progress.advance()
    return package_model(
        model=model.eval(),
        out=out,
        task="brightness",
        labels=["brightness"],
        spec=spec,
        outputs=[OutputSpec(name="brightness", kind="regression", decode="none")],
        probe=x[:4].numpy(),
        report=report,
        options=options,
        provenance={"n_train": len(report.samples)},
        task_params={},
        history=history,
        progress=progress,
        started=started,
        score=lambda engine: evaluate_brightness(engine, root),
    )


@pytest.fixture
def brightness_plugin() -> Iterator[None]:
    register_task(BrightnessTask())
    register_evaluator(Evaluator("brightness", evaluate_brightness, headline=("mae",)))
    register_layout(
        Layout("brightness", lambda root: (root / LABELS_FILE).is_file(), 5, LABELS_FILE)
    )
    register_trainer(Trainer("brightness", BrightnessOptions, train_brightness, headline=("mae",)))
    yield
    unregister("brightness")
    unregister_layout("brightness")
    unregister_trainer("brightness")


# -- the test ---------------------------------------------------------------------------------


def write_brightness_set(root: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    rows = []
    for i in range(n):
        level = rng.uniform(20, 235)
        pixels = np.clip(rng.normal(level, 12, size=(40, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"img{i}.png")
        rows.append((f"img{i}.png", round(float(pixels.mean()) / 255, 4)))
    (root / "broken.png").write_bytes(b"not a png")
    rows.append(("broken.png", 0.5))
    with open(root / LABELS_FILE, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "brightness"])
        writer.writerows(rows)
    return root


def test_a_task_registered_outside_lensbox_runs_through_every_command(
    brightness_plugin: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_brightness_set(tmp_path / "train", 24, seed=0)
    held = write_brightness_set(tmp_path / "held", 8, seed=1)
    model = tmp_path / "model"

    code, out, _ = cli_in_process(capsys, "data", "check", str(data), "--json")
    report = json.loads(out)
    assert code == 0 and report["task"] == "brightness"  # found by its layout alone
    assert report["n_images"] == 24 and report["problems"][0]["kind"] == "unreadable"

    code, out, err = cli_in_process(
        capsys, "train", str(data), "--task", "brightness", "--out", str(model), "--epochs=400",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["task"] == "brightness" and summary["mae"] < 0.03
    assert summary["parity_max_abs_diff"] < 1e-4
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["provenance"]["dataset_sha256"] == report["fingerprint"]
    assert manifest["provenance"]["recipe"]["epochs"] == 400

    code, _, err = cli_in_process(
        capsys, "train", str(data), "--task", "brightness", "--out", str(tmp_path / "m2"),
        "--window", "3",
    )  # fmt: skip
    assert code == 1 and "--window does not apply to --task brightness" in err

    code, out, err = cli_in_process(capsys, "evaluate", str(model), str(held), "--json")
    assert code == 0, err
    scores = json.loads(out)
    assert (
        scores["mae"] < 0.03 and scores["n_images"] == 8 and scores["model"]["task"] == "brightness"
    )

    dark, bright = tmp_path / "dark.png", tmp_path / "bright.png"
    Image.new("RGB", (30, 30), (25, 25, 25)).save(dark)
    Image.new("RGB", (30, 30), (230, 230, 230)).save(bright)
    code, out, err = cli_in_process(capsys, "predict", str(model), str(dark), str(bright), "--json")
    assert code == 0, err
    dark_out, bright_out = (p["brightness"] for p in json.loads(out)["predictions"])
    assert abs(dark_out - 25 / 255) < 0.05 and abs(bright_out - 230 / 255) < 0.05

    results = tmp_path / "results.jsonl"
    code, out, err = cli_in_process(
        capsys, "run", str(model), "--source", str(held), "--port", str(free_port()),
        "--results", str(results), "--max-frames", "8", "--json",
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 8 and all(line["task"] == "brightness" for line in lines)
    assert all(0 <= line["brightness"] <= 1 for line in lines)
