"""The composer's part of ``report.html``: its measures beside the real pieces', and a
harmonisation to look at."""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lensbox.manifest import ModelManifest

Section = Callable[[ModelManifest, list[dict[str, Any]]], str]


def measures_table(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
    table = manifest.metrics.get("measures")
    if not isinstance(table, dict):
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{row['model']:.4f}</td><td>{row['real']:.4f}</td></tr>"
        for name, row in table.items()
    )
    return (
        "<h2>How Bach-like (test split)</h2><p>Harmonisations of the held-out pieces' soprano "
        "lines, beside the pieces themselves.</p><table><tr><th>measure</th><th>model</th>"
        f"<th>real</th></tr>{rows}</table>"
    )


def sample_roll(manifest: ModelManifest, history: list[dict[str, Any]], root: Path) -> str:
    """Twinkle, Twinkle harmonised by the package, as a piano roll."""
    from lensbox.composer.generate import compose
    from lensbox.composer.render import piano_roll_png
    from lensbox.composer.sampler import Inpainter
    from lensbox.composer.samples import load_sample
    from lensbox.manifest import load_package

    model = Inpainter.open(load_package(root))
    composition = compose(model, load_sample("twinkle"), "accompany", seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        png = piano_roll_png(composition.grid, Path(tmp) / "roll.png", "twinkle: accompany")
        encoded = base64.b64encode(png.read_bytes()).decode()
    return (
        "<h2>A harmonisation</h2><img alt='piano roll of a harmonised melody' "
        f"src='data:image/png;base64,{encoded}'>"
    )


def composer_sections(root: Path | None = None) -> tuple[Section, ...]:
    if root is None:
        return (measures_table,)
    package_root = root
    return (measures_table, lambda m, h: sample_roll(m, h, package_root))


def gan_curves(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
    """Critic and generator losses per round."""
    from lensbox.train.report import png_base64, pyplot

    rows = [h for h in history if h.get("stage") == "gan"]
    if not rows:
        return ""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.4))
    rounds = [h["epoch"] for h in rows]
    for key in ("critic_loss", "generator_loss", "wasserstein_estimate"):
        axis.plot(rounds, [h[key] for h in rows], "o-", label=key.replace("_", " "))
    axis.set(xlabel="round", title="WGAN-GP losses")
    axis.grid(alpha=0.3)
    axis.legend()
    encoded = png_base64(figure)
    plt.close(figure)
    return f"<h2>GAN losses</h2><img alt='critic and generator losses' src='data:image/png;base64,{encoded}'>"


def gan_samples(manifest: ModelManifest, history: list[dict[str, Any]]) -> str:
    """The showcase melody as the generator harmonised it after each round."""
    import numpy as np

    from lensbox.composer.grid import Grid, from_classes
    from lensbox.composer.render import piano_roll_png

    rows = [h for h in history if h.get("stage") == "gan" and h.get("sample")]
    parts = ["<h2>The generator, round by round</h2>"]
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            grid = Grid.from_pitches(from_classes(np.asarray(row["sample"])))
            png = piano_roll_png(grid, Path(tmp) / "roll.png", f"round {row['epoch']}")
            encoded = base64.b64encode(png.read_bytes()).decode()
            parts.append(
                f"<img alt='piano roll after round {row['epoch']}' src='data:image/png;base64,{encoded}'>"
            )
    return "".join(parts)


def gan_sections() -> tuple[Section, ...]:
    return (measures_table, gan_curves, gan_samples)
