"""Pipeline(source, engine, function, sinks): three threads so decoding, inference and
publishing overlap.

    reader ──buffer──► inference (+ function) ──queue──► output (streams, SSE feed, sinks)

Nothing is JPEG-encoded or drawn here: the streams do that lazily, only for viewers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from lensbox.results import Frame, Result
from lensbox.runtime.engine import Engine
from lensbox.runtime.functions import InferenceFunction
from lensbox.runtime.sinks.base import Message, Sink
from lensbox.runtime.sources import FrameSource, SourceError
from lensbox.runtime.stats import PipelineStats
from lensbox.runtime.streams import ResultFeed, StreamHub

log = logging.getLogger("lensbox.pipeline")

_END = object()


class BufferPolicy(StrEnum):
    """What happens to frames that arrive while the model is busy.

    LATEST: keep only the newest frame and drop stale ones (counted in ``dropped``). Use it for
    cameras and network streams: results describe *now*, like ``awscam.getLastFrame()``.
    WAIT: the reader waits for the model, so every frame is processed in order. Use it for
    files and folders, where skipping frames would lose data and nothing is live.
    """

    LATEST = "latest"
    WAIT = "wait"


class _Mailbox:
    """A one-slot buffer for LATEST: putting over an unread frame replaces it (a drop)."""

    def __init__(self) -> None:
        self._item: Any = None
        self._full = False
        self._cond = threading.Condition()

    def put(self, item: Any) -> bool:
        with self._cond:
            replaced = self._full and item is not _END
            self._item, self._full = item, True
            self._cond.notify()
            return replaced

    def get(self, timeout: float) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: self._full, timeout):
                raise queue.Empty
            item, self._item, self._full = self._item, None, False
            return item


class Backoff:
    """Reconnect delays: 0.5 s doubling to ``maximum``; reset after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 10.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.delay = initial

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.maximum, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.initial


class Pipeline:
    """Runs a source through an engine, a function and sinks until stopped or the source ends."""

    def __init__(
        self,
        source: FrameSource,
        engine: Engine,
        *,
        function: InferenceFunction | None = None,
        sinks: Sequence[Sink] = (),
        hub: StreamHub | None = None,
        feed: ResultFeed | None = None,
        policy: BufferPolicy = BufferPolicy.WAIT,
        pace: bool = False,
        loop: bool = False,
        max_frames: int | None = None,
        stats: PipelineStats | None = None,
        backoff: Backoff | None = None,
        on_result: Callable[[Message], None] | None = None,
        workers: int | None = None,
    ) -> None:
        self.source = source
        self._engine = engine
        self.function = function
        self.sinks = list(sinks)
        self.hub = hub
        self.feed = feed
        self.policy = policy
        self.pace = pace
        self.loop = loop
        self.max_frames = max_frames
        self.stats = stats or PipelineStats()
        self.backoff = backoff or Backoff()
        self.on_result = on_result
        self._stop = threading.Event()
        self._done = threading.Event()
        self._buffer: Any = _Mailbox() if policy is BufferPolicy.LATEST else queue.Queue(4)
        self._out: queue.Queue[Any] = queue.Queue(maxsize=64)
        self._threads: list[threading.Thread] = []
        self._engine_lock = threading.Lock()
        # WAIT runs one single-threaded session per core on alternate frames: frame-level
        # parallelism is not stalled when decoding briefly takes a core, as onnxruntime's
        # intra-op barriers are. LATEST keeps one session using every core: lowest latency.
        cpus = os.cpu_count() or 1
        self.workers = workers or (1 if policy is BufferPolicy.LATEST else min(2, cpus))
        self._engines = self._replicas(engine)
        self._live_workers = self.workers
        self._processed = 0
        self._count_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        return self._engine

    def _replicas(self, engine: Engine) -> list[Engine]:
        if self.workers == 1:
            return [engine]
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return [engine.replica(threads) for _ in range(self.workers)]

    def swap_engine(self, engine: Engine) -> None:
        """Hot-swap the model: the next frame runs on ``engine``; no restart, no gap."""
        replicas = self._replicas(engine)
        with self._engine_lock:
            self._engine = engine
            self._engines = replicas

    def swap_function(self, function: InferenceFunction | None) -> None:
        """Replace the inference function; the next published result uses it."""
        self.function = function

    def start(self) -> Pipeline:
        targets: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [
            ("reader", self._read, ())
        ]
        targets += [(f"infer-{i}", self._infer, (i,)) for i in range(self.workers)]
        targets.append(("output", self._output, ()))
        for name, target, args in targets:
            thread = threading.Thread(target=target, args=args, name=f"lensbox-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def close(self, timeout: float = 1.5) -> None:
        """Stop, let the threads finish, and flush and close every sink (within ~2 s)."""
        self.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                log.error("closing sink %s failed: %s", getattr(sink, "name", sink), exc)
        self.source.close()
        if self.stats.state != "failed":
            self.stats.set_state("stopped")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- reader ----------------------------------------------------------------------------
    def _open_source(self) -> bool:
        """Open (or reopen) the source; live sources retry with backoff until stopped."""
        while not self._stop.is_set():
            try:
                self.source.open()
                self.backoff.reset()
                return True
            except SourceError as exc:
                if not self.source.live:
                    log.error("%s", exc)
                    self.stats.set_state("failed")
                    return False
                self.stats.set_state("reconnecting")
                delay = self.backoff.next()
                log.warning("%s; retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
        return False

    def _read(self) -> None:
        index = 0
        if not self._open_source():
            self._put(_END)
            return
        self.stats.set_state("running")
        started = time.monotonic()
        paced = 0
        while not self._stop.is_set():
            image = self.source.read()
            if image is None:
                if self.source.live or self.loop:
                    self.source.close()
                    if self.source.live:
                        self.stats.set_state("reconnecting")
                        self._stop.wait(self.backoff.next())
                    if not self._open_source():
                        break
                    self.stats.set_state("running")
                    started, paced = time.monotonic(), 0
                    continue
                break
            if self.pace and self.source.fps:
                target = started + paced / self.source.fps
                delay = target - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                paced += 1
            frame = Frame(
                image=image, index=index, timestamp=time.time(), source_id=self.source.source_id
            )
            index += 1
            # Preprocessing here overlaps it with the previous frame's inference.
            engine = self._engine
            started_prep = time.perf_counter()
            tensor = engine.prepare(image)
            prep_ms = (time.perf_counter() - started_prep) * 1000
            self._put((frame, tensor, engine, prep_ms))
        self._put(_END)

    def _put(self, item: Any) -> None:
        if isinstance(self._buffer, _Mailbox):
            if self._buffer.put(item):
                self.stats.drop()
            return
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # -- inference -------------------------------------------------------------------------
    def _claim(self) -> bool:
        """Count one more frame towards ``max_frames``; False once the limit is reached."""
        with self._count_lock:
            if self.max_frames is not None and self._processed >= self.max_frames:
                return False
            self._processed += 1
            return True

    def _infer(self, worker: int) -> None:
        """Only inference runs here, so the next ``session.run`` starts as soon as possible;
        decoding, the function and publishing happen on the output thread."""
        try:
            while not self._stop.is_set():
                try:
                    item = self._buffer.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _END:
                    self._put(_END)  # let the other workers see it too
                    break
                if not self._claim():
                    break
                frame, tensor, prepared_by, prep_ms = item
                with self._engine_lock:
                    engine = self._engines[worker % len(self._engines)]
                spec = prepared_by.manifest.input
                if spec is not engine.manifest.input and spec != engine.manifest.input:
                    # The model was swapped for one with other preprocessing. (Replicas share
                    # their manifest: the identity test spares a pydantic comparison a frame,
                    # about 2 % of an inference thread's time.)
                    tensor = engine.prepare(frame.image)
                started = time.perf_counter()
                outputs = engine.run(tensor)
                timings = {
                    "preprocess": prep_ms,
                    "inference": (time.perf_counter() - started) * 1000,
                }
                self._emit((frame, outputs, engine, timings))
        except Exception:
            log.exception("inference failed; the pipeline stops")
            self.stats.set_state("failed")
        finally:
            self._stop.set()
            with self._count_lock:
                self._live_workers -= 1
                last = self._live_workers == 0
            if last:
                self._out_put(_END)

    def _publish(
        self, frame: Frame, outputs: list[np.ndarray], engine: Engine, timings: dict[str, float]
    ) -> Message:
        """Decode, run the user's function and build the message every sink receives."""
        result = engine.result(frame, outputs, timings)
        output = self.function(result) if self.function is not None else None
        if self.function is not None:
            self.stats.function_errors = self.function.errors
        document = result.to_dict()
        actuate = getattr(self.source, "actuate", None)
        if actuate is not None:  # a source that acts on results (a simulated car's servos)
            document.update(actuate(result.payload))
        if output:
            document.update(output)
        message = Message(
            frame,
            result,
            document,
            _dumps(document),
            render=functools.partial(self.render_project, frame, result, engine, output, document),
        )
        self.stats.record((time.time() - frame.timestamp) * 1000, result.timings_ms)
        return message

    def _emit(self, packet: tuple[Any, ...]) -> None:
        if self.policy is BufferPolicy.LATEST:
            try:
                self._out.put_nowait(packet)
            except queue.Full:
                self.stats.drop()
        else:
            self._out_put(packet)

    def _out_put(self, item: Any) -> None:
        while True:
            try:
                self._out.put(item, timeout=0.1)
                return
            except queue.Full:
                if item is _END:
                    with contextlib.suppress(queue.Empty):
                        self._out.get_nowait()

    # -- output ----------------------------------------------------------------------------
    def render_project(
        self,
        frame: Frame,
        result: Result,
        engine: Engine,
        output: dict[str, Any] | None,
        document: dict[str, Any] | None = None,
    ) -> np.ndarray:
        """The project-stream picture: the frame with the result (and the function's marks,
        and what the source adds, such as a simulated car's map)."""
        image = frame.image.copy()
        engine.task.draw(image, result.payload, engine.manifest)
        if self.function is not None:
            self.function.draw(image, result, output)
        overlay = getattr(self.source, "overlay", None)
        if overlay is not None and document is not None:
            overlay(image, document)
        return image

    def _in_order(self) -> Iterator[tuple[Any, ...]]:
        """Worker results in frame order (several workers finish out of order)."""
        pending: dict[int, tuple[Any, ...]] = {}
        expected = 0  # the reader numbers frames from 0
        while True:
            item = self._out.get()
            if item is _END:
                yield from (pending[k] for k in sorted(pending))
                return
            if self.workers == 1:
                yield item
                continue
            index = item[0].index
            if index < expected:  # arrived after its place was given up: publish it late
                yield item
                continue
            pending[index] = item
            while expected in pending:
                yield pending.pop(expected)
                expected += 1
            if len(pending) > 1000:
                # In WAIT mode no frame is skipped, so this means a worker is stuck: publish
                # what is here rather than hold it in memory without bound.
                log.warning(
                    "frame %d is late; publishing %d later frames first", expected, len(pending)
                )
                expected = min(pending)

    def _output(self) -> None:
        try:
            for item in self._in_order():
                message = self._publish(*item)
                if self.hub is not None:
                    self.hub.publish("device", functools.partial(_same, message.frame.image))
                    self.hub.publish("project", message.render)
                if self.feed is not None:
                    self.feed.publish(message.text)
                for sink in self.sinks:
                    try:
                        sink(message)
                    except Exception as exc:
                        name = getattr(sink, "name", type(sink).__name__)
                        self.stats.sink_failed(name)
                        count = self.stats.sink_errors[name]
                        if count == 1 or count % 100 == 0:
                            log.error("sink %s failed (%d so far): %s", name, count, exc)
                if self.on_result is not None:
                    try:
                        self.on_result(message)
                    except Exception as exc:
                        log.error("result callback failed: %s", exc)
        finally:
            self._done.set()


def _dumps(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document, separators=(",", ":"), default=str)


def _same(image: np.ndarray) -> np.ndarray:
    return image
