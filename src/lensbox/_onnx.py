"""One way to open a package's ONNX file, for every consumer of a package (the device runtime's
engine, the composer's samplers, ``lensbox bench``): the same threads, log level and error, on
onnxruntime or, where it is installed, OpenVINO.

Both backends answer the part of onnxruntime's session interface the consumers use
(``get_inputs``, ``get_outputs``, ``run``), so nothing above this module knows which runs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from lensbox._optional import require
from lensbox.errors import LensboxError, MissingExtraError, PackageError
from lensbox.manifest import ModelPackage

BACKENDS = ("onnxruntime", "openvino")
log = logging.getLogger("lensbox.backend")


def open_session(
    package: ModelPackage, threads: int | None = None, source: str = "", backend: str | None = None
) -> Any:
    """A CPU session on ``package``'s model.onnx, or a one-line error. ``backend`` None takes
    the manifest's preferred backend when it is installed (else onnxruntime, with a warning)."""
    chosen = resolve_backend(package, backend, source)
    if chosen == "openvino":
        return OpenVinoSession.open(package, threads, source)
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


def resolve_backend(package: ModelPackage, backend: str | None, source: str = "") -> str:
    if backend is not None:
        if backend not in BACKENDS:
            raise LensboxError(f"unknown backend {backend!r}; use {' or '.join(BACKENDS)}")
        if backend == "openvino":
            require("openvino", extra="openvino")  # asked for by name: a missing extra is an error
        return backend
    preferred = package.manifest.preferred_backend
    if preferred == "openvino":
        try:
            require("openvino", extra="openvino")
        except MissingExtraError as exc:
            log.warning(
                "%s prefers openvino: %s; running on onnxruntime", source or package.root, exc
            )
            return "onnxruntime"
    return preferred or "onnxruntime"


@dataclass(frozen=True)
class Port:
    """An input or output as onnxruntime describes one (None for a dynamic dimension)."""

    name: str
    shape: list[int | None]


class OpenVinoSession:
    """OpenVINO's CPU plugin behind onnxruntime's ``run(names, feeds)``. One infer request per
    session: like an onnxruntime session used from one thread (parallel workers open replicas)."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self._outputs = {port.get_any_name(): port for port in compiled.outputs}

    @classmethod
    def open(cls, package: ModelPackage, threads: int | None, source: str) -> OpenVinoSession:
        ov = require("openvino", extra="openvino")
        # f32 as onnxruntime computes: on a CPU with bfloat16 (AVX-512 BF16, AMX) the plugin
        # otherwise runs in bfloat16 by default, and the same package's scores move by about
        # 0.2 % (0.019 on logits near 8) with the machine it runs on.
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            core = ov.Core()
            return cls(core.compile_model(core.read_model(str(package.model_path)), "CPU", config))
        except Exception as exc:
            raise PackageError(
                f"{source or package.root}: OpenVINO cannot load model.onnx: {exc}"
            ) from None

    @staticmethod
    def _port(port: Any) -> Port:
        shape = [d.get_length() if d.is_static else None for d in port.get_partial_shape()]
        return Port(port.get_any_name(), shape)

    def get_inputs(self) -> list[Port]:
        return [self._port(p) for p in self.compiled.inputs]

    def get_outputs(self) -> list[Port]:
        return [self._port(p) for p in self.compiled.outputs]

    def run(self, names: list[str] | None, feeds: dict[str, Any]) -> list[Any]:
        results = self.request.infer(feeds)
        wanted = names or list(self._outputs)
        return [results[self._outputs[name]] for name in wanted]
