"""Drive packages made in the tests: tiny ONNX graphs with the drive task's manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lensbox.manifest import InputSpec, ModelManifest, OutputSpec, write_package
from lensbox.racer.config import ModelMetadata

# A continuous action space over the car's whole range: steering -30..30 degrees, 0.1..4 m/s.
CONTINUOUS = ModelMetadata.model_validate(
    {"action_space": {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 0.1, "high": 4}}}
)


def constant_driver(root: Path, preferred: int, track: str | None = None) -> Path:
    """A drive package whose ONNX graph always prefers one action of the default space
    (``track``: the track it says it trained on)."""
    from onnx import TensorProto, helper

    metadata = ModelMetadata()
    n = len(metadata.actions)
    bias = np.zeros(n, np.float32)
    bias[preferred] = 5.0
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["scaled"]),
            helper.make_node("Add", ["scaled", "b"], ["actions"]),
        ],
        "constant_driver",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 120, 160])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["batch", n])],
        initializer=[
            helper.make_tensor("w", TensorProto.FLOAT, [1, n], [0.0] * n),
            helper.make_tensor("b", TensorProto.FLOAT, [n], bias.tolist()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    manifest = ModelManifest(
        name=root.name,
        task="drive",
        labels=[a.label for a in metadata.actions],
        input=InputSpec(height=120, width=160, color="gray", scale=1 / 127.5, mean=(1, 1, 1)),
        outputs=[OutputSpec(name="actions", kind="logits", decode="action")],
        sha256="0" * 64,
        task_params={"action_space": metadata.to_json(), **({"track": track} if track else {})},
    )
    return write_package(root, model.SerializeToString(), manifest).root
