"""An onnxruntime session built from a model package: images or frames in, results out.

The manifest drives preprocessing and decoding, so the engine never guesses; a model whose
input shape disagrees with its manifest is refused before the first frame.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lensbox._onnx import open_session, resolve_backend
from lensbox.errors import PackageError
from lensbox.manifest import ModelPackage, load_package
from lensbox.preprocess import to_batch, to_tensor
from lensbox.results import Frame, Result
from lensbox.tasks import Task, get_task


class Engine:
    """Runs one model package. Build it with :meth:`open`; the constructor takes a session."""

    def __init__(
        self,
        package: ModelPackage,
        session: Any,
        task: Task,
        state: Any = None,
        backend: str = "onnxruntime",
    ) -> None:
        self.package = package
        self.backend = backend
        self.manifest = package.manifest
        self.session = session
        self.task = task
        # Per-stream task state (an activity window, a tracker); replicas share it.
        self.state = state if state is not None else task.new_state(package)
        self.input_name = self.manifest.input.name
        self.output_names = [o.name for o in self.manifest.outputs]

    @classmethod
    def open(
        cls, path: str | Path, threads: int | None = None, backend: str | None = None
    ) -> Engine:
        """``backend``: onnxruntime or openvino; None takes the manifest's preference."""
        package = load_package(path)
        try:
            task = get_task(package.manifest.task)
        except PackageError as exc:
            raise PackageError(f"{path}: {exc}") from None
        chosen = resolve_backend(package, backend, str(path))
        session = open_session(package, threads, str(path), chosen)
        check_io(package, session, str(path))
        engine = cls(package, session, task, backend=chosen)
        engine.warm_up()
        return engine

    def replica(self, threads: int) -> Engine:
        """Another session on the same (already verified) package, for a parallel worker."""
        engine = Engine(
            self.package,
            open_session(self.package, threads, str(self.package.root), self.backend),
            self.task,
            self.state,
            self.backend,
        )
        engine.warm_up()
        return engine

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def sha256(self) -> str:
        return self.manifest.sha256

    def with_task_params(self, **params: Any) -> Engine:
        """The same session with decoding parameters changed (e.g. ``top_k``)."""
        merged = {**self.manifest.task_params, **params}
        package = ModelPackage(
            self.package.root, self.manifest.model_copy(update={"task_params": merged})
        )
        return Engine(package, self.session, self.task, self.state, self.backend)

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(self.output_names, {self.input_name: batch}))

    def predict(
        self, images: list[np.ndarray], order: Literal["rgb", "bgr"] = "rgb"
    ) -> list[dict[str, Any]]:
        """Decoded payloads for a list of HxWx3 uint8 images."""
        if not images:
            return []
        batch = to_batch(images, self.manifest.input, order)
        outputs = self.run(batch)
        sizes = [(int(i.shape[0]), int(i.shape[1])) for i in images]
        payloads = []
        for index, size in enumerate(sizes):
            payloads.extend(
                self.task.decode([o[index : index + 1] for o in outputs], self.manifest, size)
            )
        return payloads

    def warm_up(self) -> None:
        """One inference on zeros, so the first real frame does not pay for graph set-up."""
        spec = self.manifest.input
        shape = (
            (1, spec.channels, spec.height, spec.width)
            if spec.layout == "NCHW"
            else (1, spec.height, spec.width, spec.channels)
        )
        try:
            self.run(np.zeros(shape, np.float32))
        except Exception as exc:
            raise PackageError(
                f"{self.package.root}: a test inference failed ({type(exc).__name__}: {exc}); "
                "the model does not accept the input its manifest describes"
            ) from None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """A BGR frame -> the model's input batch of one (what ``infer`` would compute)."""
        return to_tensor(image, self.manifest.input, order="bgr")[None]

    def infer(self, frame: Frame, tensor: np.ndarray | None = None) -> Result:
        """One frame (BGR) -> one Result with per-stage timings.

        ``tensor`` is the output of :meth:`prepare` when another thread already computed it.
        """
        start = time.perf_counter()
        if tensor is None:
            tensor = self.prepare(frame.image)
        prepared = time.perf_counter()
        outputs = self.run(tensor)
        inferred = time.perf_counter()
        timings = {
            "preprocess": (prepared - start) * 1000,
            "inference": (inferred - prepared) * 1000,
        }
        return self.result(frame, outputs, timings)

    def result(
        self, frame: Frame, outputs: list[np.ndarray], timings_ms: dict[str, float]
    ) -> Result:
        """Decode raw outputs for ``frame`` into a Result; split from :meth:`run` so a
        pipeline can decode on another thread while the next frame is inferred."""
        started = time.perf_counter()
        payload = self.task.decode_frame(
            outputs, self.manifest, (frame.height, frame.width), self.state
        )
        timings = {**timings_ms, "postprocess": (time.perf_counter() - started) * 1000}
        return Result(
            frame_index=frame.index,
            timestamp=frame.timestamp,
            source_id=frame.source_id,
            task=self.manifest.task,
            payload=payload,
            timings_ms=timings,
            model_sha256=self.sha256,
        )


def check_io(package: ModelPackage, session: Any, source: str) -> None:
    """Refuse a model whose ONNX inputs/outputs disagree with its manifest, saying how."""
    spec = package.manifest.input
    inputs = {i.name: i for i in session.get_inputs()}
    if spec.name not in inputs:
        raise PackageError(
            f"{source}: manifest input {spec.name!r} is not an input of model.onnx "
            f"(it has {sorted(inputs)})"
        )
    shape = list(inputs[spec.name].shape)
    expected = (
        [spec.channels, spec.height, spec.width]
        if spec.layout == "NCHW"
        else [spec.height, spec.width, spec.channels]
    )
    actual = shape[1:]
    mismatch = len(shape) != 4 or any(
        isinstance(a, int) and a != e for a, e in zip(actual, expected, strict=False)
    )
    if mismatch:
        raise PackageError(
            f"{source}: model.onnx input shape {shape} does not match the manifest "
            f"({spec.layout} {spec.height}x{spec.width}x{spec.channels}); fix --input-size or "
            "the manifest"
        )
    outputs = {o.name for o in session.get_outputs()}
    missing = [o.name for o in package.manifest.outputs if o.name not in outputs]
    if missing:
        raise PackageError(
            f"{source}: manifest outputs {missing} are not outputs of model.onnx "
            f"(it has {sorted(outputs)})"
        )
