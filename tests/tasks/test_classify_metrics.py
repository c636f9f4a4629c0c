from __future__ import annotations

import numpy as np
import pytest

from lensbox.tasks.classify import classification_metrics, softmax, top_k


def test_metrics_match_a_hand_computed_example() -> None:
    labels = ["a", "b", "c"]
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 2])
    m = classification_metrics(y_true, y_pred, labels)
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert m["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert m["per_class"]["a"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "support": 3,
    }
    assert m["per_class"]["b"]["precision"] == 0.5 and m["per_class"]["b"]["recall"] == 0.5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 1) / 3, abs=1e-4)
    assert m["most_confused"][0]["count"] == 1


def test_absent_classes_do_not_drag_macro_f1_down() -> None:
    m = classification_metrics(np.array([0, 1]), np.array([0, 1]), ["a", "b", "c"])
    assert m["macro_f1"] == 1.0 and m["per_class"]["c"]["support"] == 0


def test_softmax_and_top_k() -> None:
    p = softmax(np.array([[1.0, 3.0, 2.0]]))[0]
    assert p.sum() == pytest.approx(1.0)
    ranked = top_k(p, ["x", "y", "z"], 2)
    assert [r["label"] for r in ranked] == ["y", "z"]
