"""Training end to end on tiny generated data: package, parity, reports, determinism, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")

from lensbox.manifest import load_package
from lensbox.runtime.engine import Engine
from lensbox.train.callbacks import QuietProgress
from lensbox.train.classify import ClassifyOptions, train_classifier
from tests.helpers import make_imagefolder, synthetic_image

pytestmark = pytest.mark.slow

OPTIONS = {"epochs": 3, "image_size": 64, "views": 3, "head_epochs": 10}


def test_trained_package_is_complete_and_consistent(trained_package: Path) -> None:
    package = load_package(trained_package)
    manifest = package.manifest
    assert manifest.task == "classify"
    assert manifest.labels == ["compost", "landfill", "recycling"]
    assert manifest.input.height == 64 and manifest.input.mean == pytest.approx(
        (0.485, 0.456, 0.406)
    )
    assert manifest.parity is not None and manifest.parity.max_abs_diff <= 1e-4
    assert manifest.provenance["backbone"] == "mobilenet_v2"
    assert manifest.provenance["skipped_files"] == 5
    assert manifest.metrics["val_accuracy"] >= 0.9
    history = json.loads((trained_package / "history.json").read_text())
    assert history[0]["stage"] == "head" and history[-1]["epoch"] >= 1
    report = (trained_package / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2  # curves + confusion matrix, inline
    assert (trained_package / "checkpoints" / "best.pt").is_file()


def test_package_classifies_new_images_with_onnxruntime(trained_package: Path) -> None:
    engine = Engine.open(trained_package)
    images = [
        np.asarray(synthetic_image(c, 5000 + i))
        for i, c in enumerate([(60, 140, 40), (90, 90, 90), (30, 80, 200)])
    ]
    labels = [p["label"] for p in engine.predict(images)]
    assert labels == ["compost", "landfill", "recycling"]


class _InterruptAfter(QuietProgress):
    """Simulates Ctrl-C after a given number of fine-tuning epochs."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.stage_name = ""

    def stage(self, name: str, total: int) -> None:
        self.stage_name = name

    def advance(self, steps: int = 1, **fields: Any) -> None:
        if self.stage_name == "fine-tune" and fields.get("epoch") == self.epochs:
            raise KeyboardInterrupt


def _without_timing(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def _logits(package: Path) -> np.ndarray:
    engine = Engine.open(package)
    batch = np.random.default_rng(1).normal(size=(4, 3, 64, 64)).astype(np.float32)
    return engine.run(batch)[0]


def test_same_seed_same_model_and_resume_finishes_the_same_run(tmp_path: Path) -> None:
    data = make_imagefolder(tmp_path / "data", per_class=8)
    first = train_classifier(data, tmp_path / "a", ClassifyOptions(**OPTIONS))
    second = train_classifier(data, tmp_path / "b", ClassifyOptions(**OPTIONS))
    np.testing.assert_array_equal(_logits(tmp_path / "a"), _logits(tmp_path / "b"))
    assert _without_timing(first.history) == _without_timing(second.history)

    with pytest.raises(KeyboardInterrupt):
        train_classifier(data, tmp_path / "c", ClassifyOptions(**OPTIONS), _InterruptAfter(1))
    assert (tmp_path / "c" / "checkpoints" / "last.pt").is_file()
    assert not (tmp_path / "c" / "model.onnx").exists()
    resumed = train_classifier(data, tmp_path / "c", ClassifyOptions(**OPTIONS, resume=True))
    assert [h["epoch"] for h in resumed.history] == [h["epoch"] for h in first.history]
    np.testing.assert_allclose(_logits(tmp_path / "c"), _logits(tmp_path / "a"), atol=1e-5)
