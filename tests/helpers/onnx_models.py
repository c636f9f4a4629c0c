"""Tiny ONNX models built with onnx.helper: real files the runtime loads, no torch needed.

The colour classifier averages each channel of its (normalised RGB) input and uses the means
as logits, so its answer is the dominant colour: red, green or blue. Its behaviour is known in
advance, which makes pipeline tests exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lensbox.manifest import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    InputSpec,
    ModelManifest,
    ModelPackage,
    OutputSpec,
    write_package,
)

COLOUR_LABELS = ["red", "green", "blue"]


def colour_classifier_onnx(size: int = 32, layout: str = "NCHW", scale: float = 10.0) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    if layout == "NCHW":
        shape = ["batch", 3, size, size]
        nodes = [helper.make_node("GlobalAveragePool", ["input"], ["pooled"])]
    else:
        shape = ["batch", size, size, 3]
        nodes = [
            helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("GlobalAveragePool", ["nchw"], ["pooled"]),
        ]
    weight = helper.make_tensor(
        "w", TensorProto.FLOAT, [3, 3], (np.eye(3) * scale).ravel().tolist()
    )
    nodes += [
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def colour_package(
    root: Path, size: int = 32, name: str | None = None, scale: float = 10.0
) -> ModelPackage:
    manifest = ModelManifest(
        name=name or root.name,
        task="classify",
        labels=COLOUR_LABELS,
        input=InputSpec(height=size, width=size),
        outputs=[OutputSpec(name="logits")],
        sha256="0" * 64,
        task_params={"top_k": 3},
    )
    return write_package(root, colour_classifier_onnx(size, scale=scale), manifest)


def write_video(
    path: Path, colours: list[tuple[int, int, int]], size=(160, 96), fps: float = 20.0
) -> Path:
    """An MP4 (mp4v) whose frame i is filled with colours[i] (BGR) plus a moving square."""
    import cv2

    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for i, colour in enumerate(colours):
        frame = np.full((height, width, 3), colour, np.uint8)
        x = (i * 5) % (width - 12)
        frame[10:22, x : x + 12] = 255 - np.array(colour, np.uint8)
        writer.write(frame)
    writer.release()
    return path


def conv_colour_package(root: Path, size: int = 32) -> ModelPackage:
    """The colour classifier with a real convolution in front (1x1, identity, ReLU): a graph
    that INT8 quantization rewrites layer by layer, with an answer known in advance."""
    import onnx
    from onnx import TensorProto, helper

    conv = helper.make_tensor(
        "conv_w", TensorProto.FLOAT, [3, 3, 1, 1], (np.eye(3) * 2.0).ravel().tolist()
    )
    bias = helper.make_tensor("conv_b", TensorProto.FLOAT, [3], [0.0, 0.0, 0.0])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3, 3], (np.eye(3) * 10.0).ravel().tolist())
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], name="conv"),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits"], name="head"),
    ]
    graph = helper.make_graph(
        nodes,
        "conv-colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        initializer=[conv, bias, weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    manifest = ModelManifest(
        name=root.name,
        task="classify",
        labels=COLOUR_LABELS,
        # ImageNet normalisation, as the trained backbones have: black is not zero.
        input=InputSpec(height=size, width=size, mean=IMAGENET_MEAN, std=IMAGENET_STD),
        outputs=[OutputSpec(name="logits")],
        sha256="0" * 64,
    )
    return write_package(root, model.SerializeToString(), manifest)
