"""Assemble a running device from options: engine, source, function, sinks, streams, server.

Used by ``lensbox run``, ``lensbox demo`` and (later) the device agent, so they share one
lifecycle: start, serve, stop cleanly on Ctrl-C or SIGTERM within 2 s, write stats.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbox._atomic import atomic_write_json
from lensbox.runtime.engine import Engine
from lensbox.runtime.functions import InferenceFunction
from lensbox.runtime.pipeline import BufferPolicy, Pipeline
from lensbox.runtime.server import ServerThread, create_device_app
from lensbox.runtime.sinks.base import Message, Sink
from lensbox.runtime.sources import FrameSource, open_source
from lensbox.runtime.stats import PipelineStats
from lensbox.runtime.streams import ResultFeed, StreamHub

log = logging.getLogger("lensbox.device")


@dataclass
class DeviceOptions:
    model: Path
    source: str
    function: Path | None = None
    host: str = "127.0.0.1"
    port: int | None = 8080
    mqtt: str | None = None
    results: Path | None = None
    record: Path | None = None
    max_frames: int | None = None
    stats: Path | None = None
    realtime: bool | None = None  # None: the source kind decides
    loop: bool = False
    stream_fps: float = 15.0
    task_params: dict[str, Any] = field(default_factory=dict)  # decoding overrides
    backend: str | None = None  # onnxruntime or openvino; None: the manifest's preference
    extra_sinks: list[Sink] = field(default_factory=list)


class Device:
    """One pipeline plus its HTTP server, built from ``DeviceOptions``."""

    def __init__(
        self,
        options: DeviceOptions,
        engine: Engine,
        source: FrameSource,
        on_result: Callable[[Message], None] | None = None,
    ) -> None:
        from lensbox.runtime.sinks.jsonl import JsonlSink

        self.options = options
        self.hub = StreamHub(max_fps=options.stream_fps)
        self.feed = ResultFeed()
        self.stats = PipelineStats()
        realtime = options.realtime if options.realtime is not None else source.live
        self.realtime = realtime
        function = None
        if options.function is not None:
            function = InferenceFunction.load(
                options.function, engine.manifest.labels, engine.name, task=engine.manifest.task
            )
        sinks: list[Sink] = []
        try:
            if options.results is not None:
                sinks.append(JsonlSink.open(options.results))
            if options.mqtt is not None:
                from lensbox.runtime.sinks.mqtt import MqttSink

                sinks.append(MqttSink.open(options.mqtt))
            if options.record is not None:
                from lensbox.runtime.sinks.recorder import Recorder

                sinks.append(Recorder.open(options.record, fps=options.stream_fps))
        except Exception:
            for sink in sinks:
                sink.close()
            raise
        sinks.extend(options.extra_sinks)
        self.pipeline = Pipeline(
            source,
            engine,
            function=function,
            sinks=sinks,
            hub=self.hub,
            feed=self.feed,
            policy=BufferPolicy.LATEST if realtime else BufferPolicy.WAIT,
            pace=realtime and not source.live,
            loop=options.loop,
            max_frames=options.max_frames,
            stats=self.stats,
            on_result=on_result,
        )
        self.server: ServerThread | None = None

    @classmethod
    def build(
        cls, options: DeviceOptions, on_result: Callable[[Message], None] | None = None
    ) -> Device:
        engine = Engine.open(options.model, backend=options.backend)
        if options.task_params:
            engine = engine.with_task_params(**options.task_params)
        source = open_source(options.source)
        if not source.live:
            # A file or folder that cannot be read is the user's error, reported before start.
            source.open()
            source.close()
        return cls(options, engine, source, on_result)

    def health(self) -> dict[str, Any]:
        engine = self.pipeline.engine
        mqtt = [s for s in self.pipeline.sinks if getattr(s, "name", "") == "mqtt"]
        return {
            **self.stats.snapshot(),
            "model": {"name": engine.name, "sha256": engine.sha256, "task": engine.manifest.task},
            "sha256": engine.sha256,
            "source": self.pipeline.source.source_id,
            "mode": "realtime" if self.realtime else "all-frames",
            "mqtt": mqtt[0].stats() if mqtt else None,  # type: ignore[attr-defined]
        }

    def start(self) -> Device:
        if self.options.port is not None:
            app = create_device_app(self.hub, self.feed, self.health)
            self.server = ServerThread(app, self.options.host, self.options.port).start()
        self.pipeline.start()
        return self

    def run_until_done(self) -> dict[str, Any]:
        """Block until the source ends, ``max_frames`` is reached, or Ctrl-C / SIGTERM."""
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping", signum)
            stop.set()

        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            while not stop.is_set() and not self.pipeline.wait(0.1):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.close()

    def close(self) -> dict[str, Any]:
        started = time.monotonic()
        self.pipeline.close()
        self.hub.close()
        self.feed.close()
        if self.server is not None:
            self.server.stop()
        summary = self.summary()
        if self.options.stats is not None:
            atomic_write_json(self.options.stats, summary)
        log.info("stopped in %.2f s", time.monotonic() - started)
        return summary

    def summary(self) -> dict[str, Any]:
        health = self.health()
        return {
            **health,
            "fps": round(self.stats.overall_fps(), 2),
            "fps_recent": health["fps"],
        }
