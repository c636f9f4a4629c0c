from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensbox.runtime.sources import (
    ImageFolderSource,
    SourceError,
    TestPatternSource,
    VideoCaptureSource,
    open_source,
)
from tests.helpers.onnx_models import write_video


def test_video_file_yields_every_frame_then_ends(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", [(0, 0, 200)] * 7, fps=12)
    source = open_source(str(video))
    assert isinstance(source, VideoCaptureSource) and not source.live
    source.open()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    assert len(frames) == 7 and frames[0].shape == (96, 160, 3)
    assert source.fps == pytest.approx(12, abs=0.5)


def test_image_folder_skips_bad_files_and_returns_bgr(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_text("not an image")
    source = ImageFolderSource(tmp_path)
    source.open()
    first = source.read()
    assert first is not None and tuple(first[0, 0]) == (0, 0, 255)  # red in BGR
    assert source.read() is None
    assert len(source.skipped) == 1 and "b.jpg" in source.skipped[0]


def test_test_pattern_moves() -> None:
    source = TestPatternSource(width=160, height=90)
    source.open()
    a, b = source.read(), source.read()
    assert a is not None and b is not None and a.shape == (90, 160, 3)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("spec", ["/nonexistent/clip.mp4", "ftp://example/stream"])
def test_bad_source_specs_are_one_line_errors(spec: str) -> None:
    with pytest.raises(SourceError) as info:
        open_source(spec)
    assert spec in str(info.value) and "\n" not in str(info.value)


def test_corrupt_video_cannot_be_opened(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 255, 4096, np.uint8).tobytes())
    source = open_source(str(bad))
    with pytest.raises(SourceError, match="cannot open"):
        source.open()


def test_camera_and_url_sources_are_live() -> None:
    assert open_source("0").live
    assert open_source("rtsp://127.0.0.1:9/none").live
