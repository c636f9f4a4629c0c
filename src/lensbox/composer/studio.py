"""One entry for every front end (CLI, console API): open a composer package, generate files,
evaluate. Packages say which model they hold in ``task_params.model``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lensbox.composer.chorales import Corpus, Piece, load_bach, load_folder
from lensbox.composer.melody import Melody
from lensbox.errors import PackageError


def open_composer(path: Path) -> tuple[Any, Any]:
    """(package, generator) for an inpaint or a GAN package; anything else is refused."""
    from lensbox.manifest import load_package

    package = load_package(path)
    kind = package.manifest.task_params.get("model")
    if package.manifest.task != "compose" or kind not in ("inpaint", "gan"):
        raise PackageError(
            f"{path}: a {package.manifest.task} model; the composer needs one from "
            "`lensbox composer train`"
        )
    if kind == "gan":
        from lensbox.composer.gan import Accompanist

        return package, Accompanist.open(package)
    from lensbox.composer.sampler import Inpainter

    return package, Inpainter.open(package)


def generate_files(
    model_path: Path,
    melody: Melody,
    mode: str,
    out: Path,
    wav: Path | None = None,
    png: Path | None = None,
    bars: int = 4,
    fraction: float = 0.25,
    seed: int = 0,
) -> dict[str, Any]:
    from lensbox.composer.generate import compose, write_midi
    from lensbox.composer.metrics import measure
    from lensbox.composer.render import piano_roll_png, render_wav

    started = time.perf_counter()
    package, generator = open_composer(model_path)
    if package.manifest.task_params.get("model") == "inpaint":
        composition = compose(generator, melody, mode, bars=bars, fraction=fraction, seed=seed)
    else:
        composition = generator.compose(melody, mode, bars=bars, seed=seed)
    write_midi(composition, out)
    if wav is not None:
        render_wav(out, wav)
    if png is not None:
        piano_roll_png(composition.grid, png, f"{melody.source}: {mode}")
    return {
        "model": str(model_path),
        "model_kind": package.manifest.task_params.get("model"),
        "melody": melody.source,
        "mode": mode,
        "midi": str(out),
        "wav": str(wav) if wav else None,
        "png": str(png) if png else None,
        "notes": sum(len(composition.grid.notes(v)) for v in range(4)),
        "melody_notes": len(melody.notes),
        "changed_notes": composition.changed_notes,
        "added_steps": composition.extension_steps,
        "transposed_by": -composition.shift,
        "measures": measure(composition.grid),
        "messages": composition.messages,
        "seconds": round(time.perf_counter() - started, 2),
    }


def training_corpus(package: Any, cache_dir: Path | None) -> Corpus:
    """The data the package was trained on, split by the fixed rule."""
    source = str(package.manifest.provenance.get("data", ""))
    if source.startswith("music21 corpus") or not source:
        return load_bach(cache_dir)
    return load_folder(Path(source))


def test_pieces(package: Any, cache_dir: Path) -> list[Piece]:
    """The held-out pieces of the data the package was trained on."""
    return training_corpus(package, cache_dir).held_out


def evaluate_package(path: Path, cache_dir: Path, limit: int | None = None) -> dict[str, Any]:
    from lensbox.composer.evaluate import evaluate_generator

    package, generator = open_composer(path)
    pieces = test_pieces(package, cache_dir)
    return {"model": str(path), **evaluate_generator(generator, pieces, limit=limit)}
