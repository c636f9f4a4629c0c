"""One way to open a package's ONNX file in onnxruntime, for every consumer of a package (the
device runtime's engine, the composer's samplers): the same threads, log level and error."""

from __future__ import annotations

import os
from typing import Any

from lensbox._optional import require
from lensbox.errors import PackageError
from lensbox.manifest import ModelPackage


def open_session(package: ModelPackage, threads: int | None = None, source: str = "") -> Any:
    """An onnxruntime CPU session on ``package``'s model.onnx, or a one-line PackageError."""
    ort = require("onnxruntime", extra="runtime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(package.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise PackageError(
            f"{source or package.root}: onnxruntime cannot load model.onnx: {exc}"
        ) from None
