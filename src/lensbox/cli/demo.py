"""``lensbox demo``: a sample project on the device runtime, offline, with real photos.

The default source is a clip made from real photographs shipped inside scikit-image, played
at its native frame rate like a camera; the model is torchvision's real ImageNet MobileNetV2
exported to a package; the project is the trash-sorter template. Both streams are served on
http://127.0.0.1:8080 and results are printed as they come.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import typer

from lensbox.cli._common import say
from lensbox.settings import Settings

SAMPLE_PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")
CLIP_SIZE = (640, 360)
CLIP_FPS = 15.0
SECONDS_PER_PHOTO = 3.0


def sample_photos() -> list[tuple[str, np.ndarray]]:
    """Real photographs shipped inside scikit-image (RGB uint8 arrays)."""
    from lensbox._optional import require

    data = require("skimage.data", extra="demo")
    return [(name, getattr(data, name)()) for name in SAMPLE_PHOTOS]


def build_clip(path: Path) -> Path:
    """An MP4 that slowly zooms across each sample photo: a stand-in for a camera."""
    import cv2

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = CLIP_SIZE
    frames_per_photo = int(SECONDS_PER_PHOTO * CLIP_FPS)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        temp = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(temp), cv2.VideoWriter.fourcc(*"mp4v"), CLIP_FPS, CLIP_SIZE)
        for _, rgb in sample_photos():
            bgr = (
                np.ascontiguousarray(rgb[:, :, ::-1])
                if rgb.ndim == 3
                else cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR)
            )
            h, w = bgr.shape[:2]
            for i in range(frames_per_photo):
                zoom = 1.0 + 0.15 * i / frames_per_photo
                crop_w = min(w, int(w / zoom))
                crop_h = min(h, int(crop_w * height / width), h)
                crop_w = min(crop_w, int(crop_h * width / height))
                top, left = (h - crop_h) // 2, (w - crop_w) // 2
                crop = bgr[top : top + crop_h, left : left + crop_w]
                writer.write(cv2.resize(crop, CLIP_SIZE, interpolation=cv2.INTER_AREA))
        writer.release()
        temp.replace(path)
    return path


def demo(
    source: str | None = typer.Option(
        None, "--source", help="Default: a clip of real photos; 0 for a camera, or any source."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Model package; default: the ImageNet MobileNetV2 package."
    ),
    port: int = typer.Option(8080, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    max_frames: int | None = typer.Option(
        None, "--max-frames", min=1, help="Stop after N results."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the final statistics as JSON."),
) -> None:
    """Run the trash-sorter sample project on the device runtime and serve both streams."""
    from lensbox.cli.run import serve_until_done, setup_logging
    from lensbox.projects import init_project
    from lensbox.runtime.device import Device, DeviceOptions

    setup_logging()
    settings = Settings.from_env()
    if model is None:
        from lensbox.train.pretrained_package import imagenet_package

        package_dir = settings.models_dir / "mobilenet_v2-imagenet"
        if not (package_dir / "manifest.json").is_file():
            say("exporting the ImageNet MobileNetV2 to a model package (first run only)…")
        model = imagenet_package(package_dir).root
    project = settings.home / "demo" / "trash-sorter"
    if not (project / "function.py").is_file():
        init_project("trash-sorter", project)
    looping = source is None
    if source is None:
        source = str(build_clip(settings.home / "demo" / "photos.mp4"))
    last: dict[str, Any] = {}

    def show(message: Any) -> None:
        document = message.document
        key = (document.get("label"), document.get("bin"))
        if key != last.get("key") or document["frame_index"] % 30 == 0:
            last["key"] = key
            print(
                f"frame {document['frame_index']:>5}: {document['label']} "
                f"{document['score']:.2f} -> {document.get('bin', '-')} bin",
                flush=True,
            )

    options = DeviceOptions(
        model=model,
        source=source,
        function=project / "function.py",
        host=host,
        port=port,
        max_frames=max_frames,
        realtime=True,
        loop=looping,
    )
    serve_until_done(Device.build(options, on_result=show), as_json)
