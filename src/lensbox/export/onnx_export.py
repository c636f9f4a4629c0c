"""PyTorch -> ONNX, then proof that the file computes what the PyTorch model computes.

Every export is checked twice (as timm's ``utils/onnx.py`` does): ``onnx.checker`` for a valid
graph, then onnxruntime against PyTorch on real inputs; the max difference goes in the manifest.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.errors import ExportError
from lensbox.manifest import Parity

PARITY_TOLERANCE = 1e-4


def export_onnx(
    model: Any,
    example: Any,
    input_name: str = "input",
    output_names: tuple[str, ...] = ("logits",),
    dynamic_batch: bool = True,
    dynamo: bool = True,
    extra_dynamic: dict[int, str] | None = None,
) -> bytes:
    """Export ``model`` (eval mode) with a dynamic batch axis; return the checked ONNX bytes.

    ``dynamo=False`` uses the TorchScript exporter: ~25x quicker, for internal graphs (the frozen
    stem that caches training features) that are never shipped. ``extra_dynamic`` names more
    dynamic input axes (a composer's time axis: one network for a piece of any length).
    """
    torch = require("torch", extra="train")
    onnx = require("onnx", extra="train")
    model = model.eval()
    axes_named = ({0: "batch"} if dynamic_batch else {}) | (extra_dynamic or {})
    dynamic_shapes = (
        (
            {
                i: torch.export.Dim(n, min=1, max=1024 if n == "batch" else 65536)
                for i, n in axes_named.items()
            },
        )
        if axes_named
        else None
    )
    with tempfile.TemporaryDirectory(prefix="lensbox-export-") as tmp:
        path = Path(tmp) / "model.onnx"
        log = io.StringIO()
        try:
            # The exporter reports progress on stdout; keep stdout for --json documents.
            with contextlib.redirect_stdout(log), torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if not dynamo:
                    axes = {input_name: axes_named} if axes_named else None
                    torch.onnx.export(
                        model,
                        (example,),
                        str(path),
                        input_names=[input_name],
                        output_names=list(output_names),
                        dynamo=False,
                        dynamic_axes=axes,
                    )
                else:
                    torch.onnx.export(
                        model,
                        (example,),
                        str(path),
                        input_names=[input_name],
                        output_names=list(output_names),
                        dynamo=True,
                        external_data=False,
                        dynamic_shapes=dynamic_shapes,
                        verbose=False,
                    )
        except Exception as exc:
            tail = log.getvalue().strip().splitlines()[-3:]
            raise ExportError(f"ONNX export failed: {type(exc).__name__}: {exc} {tail}") from exc
        proto = onnx.load(str(path))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ExportError(f"exported ONNX graph is invalid: {exc}") from exc
    return bytes(proto.SerializeToString())


def embed_metadata(onnx_bytes: bytes, metadata: dict[str, Any]) -> bytes:
    """Write the manifest's fields into the ONNX file's metadata, so the file alone is a card."""
    onnx = require("onnx", extra="train")
    proto = onnx.load_from_string(onnx_bytes)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = f"lensbox.{key}"
        entry.value = value if isinstance(value, str) else json.dumps(value)
    proto.producer_name = "lensbox"
    return bytes(proto.SerializeToString())


def measure_parity(
    onnx_bytes: bytes,
    model: Any,
    inputs: np.ndarray,
    tolerance: float = PARITY_TOLERANCE,
    input_name: str = "input",
) -> Parity:
    """Max |onnxruntime - PyTorch| over all outputs for ``inputs`` (a float32 NCHW batch)."""
    torch = require("torch", extra="train")
    ort = require("onnxruntime", extra="runtime")
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {input_name: inputs.astype(np.float32)})
    with torch.no_grad():
        torch_out = model.eval()(torch.from_numpy(inputs.astype(np.float32)))
    if isinstance(torch_out, torch.Tensor):
        torch_out = (torch_out,)
    elif isinstance(torch_out, dict):
        torch_out = tuple(torch_out.values())
    worst = 0.0
    for ours, theirs in zip(onnx_out, torch_out, strict=True):
        diff = float(np.max(np.abs(np.asarray(ours) - theirs.detach().cpu().numpy())))
        worst = max(worst, diff)
    return Parity(
        max_abs_diff=worst, tolerance=tolerance, n_samples=len(inputs), passed=worst <= tolerance
    )
