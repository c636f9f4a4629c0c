"""``lensbox demo``: the real ImageNet MobileNetV2 labels real photos, offline."""

from __future__ import annotations

import typer

from lensbox.cli._common import emit_json, say
from lensbox.settings import Settings

SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")


def sample_photos() -> list[tuple[str, object]]:
    """Real photographs shipped inside scikit-image (RGB uint8 arrays)."""
    from lensbox._optional import require

    data = require("skimage.data", extra="demo")
    return [(name, getattr(data, name)()) for name in SAMPLE_PHOTOS]


def demo(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Export the ImageNet model to a package (once) and print top-3 labels for real photos."""
    from lensbox.runtime.engine import Engine
    from lensbox.train.pretrained_package import imagenet_package

    settings = Settings.from_env()
    package_dir = settings.models_dir / "mobilenet_v2-imagenet"
    say(f"model package: {package_dir}")
    package = imagenet_package(package_dir)
    engine = Engine.open(package.root).with_task_params(top_k=3)
    rows = []
    for name, image in sample_photos():
        payload = engine.predict([image])[0]  # type: ignore[list-item]
        rows.append({"image": f"skimage.data.{name}", **payload})
        if not as_json:
            print(f"{name:<18} {engine.task.summary(payload)}")
    if as_json:
        emit_json({"model": {"name": engine.name, "sha256": engine.sha256}, "results": rows})
