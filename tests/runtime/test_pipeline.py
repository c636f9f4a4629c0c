"""The pipeline with a real (tiny) ONNX model, real video files and stub sources/sinks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lensbox.runtime.engine import Engine
from lensbox.runtime.functions import InferenceFunction
from lensbox.runtime.pipeline import BufferPolicy, Pipeline
from lensbox.runtime.sinks.base import Message
from lensbox.runtime.sinks.jsonl import JsonlSink
from lensbox.runtime.sources import FrameSource, SourceError, open_source
from lensbox.runtime.streams import StreamHub
from tests.helpers.onnx_models import colour_package, write_video

BGR = {"red": (0, 0, 220), "green": (0, 220, 0), "blue": (220, 0, 0)}


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def close(self) -> None:
        pass


class Broken:
    name = "broken"

    def __call__(self, message: Message) -> None:
        raise RuntimeError("disk full")

    def close(self) -> None:
        pass


def _run(pipeline: Pipeline, timeout: float = 30) -> Pipeline:
    pipeline.start()
    assert pipeline.wait(timeout), "pipeline did not finish"
    pipeline.close()
    return pipeline


def test_every_frame_in_order_with_correct_labels(colour_model: Path, tmp_path: Path) -> None:
    names = ["red", "green", "blue"] * 8
    video = write_video(tmp_path / "clip.mp4", [BGR[n] for n in names])
    collect = Collect()
    jsonl = JsonlSink.open(tmp_path / "out" / "results.jsonl")
    pipeline = _run(
        Pipeline(
            open_source(str(video)),
            Engine.open(colour_model),
            sinks=[collect, jsonl],
            policy=BufferPolicy.WAIT,
        )
    )
    assert [m.result.frame_index for m in collect.messages] == list(range(len(names)))
    assert [m.document["label"] for m in collect.messages] == names
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame_index"] for line in lines] == list(range(len(names)))
    assert pipeline.stats.frames == len(names) and pipeline.stats.dropped == 0


def test_function_output_is_published_and_its_errors_are_isolated(
    colour_model: Path, tmp_path: Path
) -> None:
    fn_file = tmp_path / "fn.py"
    fn_file.write_text(
        "def process(result, context):\n"
        "    if result.frame_index == 3:\n"
        "        raise ValueError('boom')\n"
        "    return {'bin': context.config['bins'][result.payload['label']]}\n"
    )
    function = InferenceFunction.load(
        fn_file,
        ["red", "green", "blue"],
        "colour",
        config={"bins": {"red": "landfill", "green": "compost", "blue": "recycling"}},
    )
    video = write_video(tmp_path / "clip.mp4", [BGR["green"]] * 6)
    collect = Collect()
    pipeline = _run(
        Pipeline(
            open_source(str(video)),
            Engine.open(colour_model),
            function=function,
            sinks=[Broken(), collect],
        )
    )
    bins = [m.document.get("bin") for m in collect.messages]
    assert bins == ["compost", "compost", "compost", None, "compost", "compost"]
    assert pipeline.stats.function_errors == 1
    assert pipeline.stats.sink_errors == {"broken": 6}


class FlakyLiveSource(FrameSource):
    """A 'network camera' that drops after every 5 frames and needs two tries to reopen."""

    live = True
    source_id = "flaky"

    def __init__(self) -> None:
        self.opens = 0
        self.failures_left = 0
        self.in_session = 0

    def open(self) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise SourceError("flaky: connection refused")
        self.opens += 1
        self.in_session = 0

    def read(self) -> np.ndarray | None:
        if self.in_session >= 5:
            self.failures_left = 2
            return None
        self.in_session += 1
        return np.full((48, 64, 3), BGR["blue"], np.uint8)


def test_live_source_reconnects_with_backoff(colour_model: Path) -> None:
    from lensbox.runtime.pipeline import Backoff

    source = FlakyLiveSource()
    states: set[str] = set()
    pipeline = Pipeline(
        source,
        Engine.open(colour_model),
        policy=BufferPolicy.LATEST,
        max_frames=12,
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    pipeline.start()
    deadline = time.monotonic() + 20
    while not pipeline.wait(0.005) and time.monotonic() < deadline:
        states.add(pipeline.stats.state)
    pipeline.close()
    assert pipeline.stats.frames == 12
    assert source.opens >= 3 and pipeline.stats.reconnects >= 2
    assert "reconnecting" in states


def test_latest_policy_drops_stale_frames_and_stops_quickly(colour_model: Path) -> None:
    engine = Engine.open(colour_model)
    original = engine.infer

    def slow_infer(frame: Any, tensor: Any = None) -> Any:
        time.sleep(0.02)
        return original(frame, tensor)

    engine.infer = slow_infer  # type: ignore[method-assign]
    pipeline = Pipeline(open_source("test"), engine, policy=BufferPolicy.LATEST).start()
    time.sleep(1.0)
    started = time.monotonic()
    pipeline.close()
    assert time.monotonic() - started < 2.0
    assert pipeline.stats.frames > 10 and pipeline.stats.dropped > 0


def test_hot_swap_changes_the_model_without_a_restart(tmp_path: Path) -> None:
    first = Engine.open(colour_package(tmp_path / "v1", name="v1").root)
    second = Engine.open(colour_package(tmp_path / "v2", name="v2", scale=20.0).root)
    assert first.sha256 != second.sha256
    collect = Collect()
    pipeline = Pipeline(open_source("test"), first, sinks=[collect], policy=BufferPolicy.LATEST)
    pipeline.start()
    time.sleep(0.5)
    pipeline.swap_engine(second)
    time.sleep(0.5)
    pipeline.close()
    shas = [m.result.model_sha256 for m in collect.messages]
    assert shas[0] == first.sha256 and shas[-1] == second.sha256
    switch = shas.index(second.sha256)
    assert all(s == second.sha256 for s in shas[switch:])


def test_streams_encode_once_per_frame_only_while_watched(
    colour_model: Path, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "clip.mp4", [BGR["red"]] * 30)
    hub = StreamHub(max_fps=1000)
    _run(Pipeline(open_source(str(video)), Engine.open(colour_model), hub=hub))
    assert hub.encodes("device") == 0 and hub.encodes("project") == 0  # nobody watched
    viewers = [hub.frames("project"), hub.frames("project")]
    first = [next(v) for v in viewers]
    assert first[0] == first[1] and first[0] is not None and first[0][:2] == b"\xff\xd8"
    assert hub.encodes("project") == 1  # two viewers, one encode


def test_parallel_workers_publish_in_frame_order(
    colour_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frame 0 finishes last on a slow worker; results still come out 0, 1, 2, ..."""
    calls = {"n": 0}
    original = Engine.run

    def first_call_slow(self: Engine, batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1 + 2:  # after the two replicas' warm-up runs
            time.sleep(0.3)
        return original(self, batch)

    engine = Engine.open(colour_model)
    monkeypatch.setattr(Engine, "run", first_call_slow)
    video = write_video(tmp_path / "clip.mp4", [BGR["red"]] * 12)
    collect = Collect()
    pipeline = _run(
        Pipeline(
            open_source(str(video)), engine, sinks=[collect], policy=BufferPolicy.WAIT, workers=2
        )
    )
    assert pipeline.workers == 2
    assert [m.result.frame_index for m in collect.messages] == list(range(12))
