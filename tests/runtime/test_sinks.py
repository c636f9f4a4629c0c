from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lensbox.results import Frame, Result
from lensbox.runtime.sinks.base import Message
from lensbox.runtime.sinks.jsonl import JsonlSink


def _message(i: int) -> Message:
    frame = Frame(np.zeros((4, 4, 3), np.uint8), i, 0.0, "s")
    result = Result(i, 0.0, "s", "classify", {"label": "x" * 50})
    document = result.to_dict()
    return Message(frame, result, document, json.dumps(document), render=lambda: frame.image)


def test_jsonl_rotates_and_keeps_every_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    sink = JsonlSink.open(path, max_bytes=2000, backups=20)
    for i in range(100):
        sink(_message(i))
    sink.close()
    # Oldest first: results.jsonl.N ... results.jsonl.1, then results.jsonl.
    files = [path, *sorted(tmp_path.glob("results.jsonl.*"), key=lambda p: -int(p.suffix[1:]))]
    assert len(files) > 2
    lines = [json.loads(line) for f in files[1:] for line in f.read_text().splitlines()]
    lines += [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["frame_index"] for d in lines] == list(range(100))
    assert all(f.stat().st_size <= 2000 + 300 for f in files)


def test_jsonl_keeps_only_the_newest_backups(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    sink = JsonlSink.open(path, max_bytes=500, backups=2)
    for i in range(60):
        sink(_message(i))
    sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl", "r.jsonl.1", "r.jsonl.2"]
