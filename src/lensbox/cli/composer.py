"""``lensbox composer ...``: the DeepComposer loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import emit_json, say

app = typer.Typer(help="DeepComposer, local: harmonise, rewrite or extend a melody.")


@app.command("train")
def train(
    model: str = typer.Option("inpaint", "--model", help="inpaint or gan."),
    out: Path = typer.Option(..., "--out", help="Folder to write the package to."),
    minutes: float = typer.Option(6.0, "--minutes", help="Wall-clock minutes of optimisation."),
    data: Path | None = typer.Option(
        None, "--data", help="A folder of four-part MIDI/MusicXML (default: Bach's chorales)."
    ),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(
        False, "--resume", help="Train on from OUT/checkpoints for another --minutes."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Train the inpainting model (harmonise, rewrite, extend) or the accompaniment GAN."""
    from lensbox.composer.train import ComposerOptions
    from lensbox.composer.trainers import train_composer
    from lensbox.settings import Settings
    from lensbox.train.callbacks import RichProgress

    options = ComposerOptions(
        model=model, minutes=minutes, data=str(data or ""), seed=seed, resume=resume
    )
    progress = RichProgress()
    try:
        result = train_composer(options, out, progress, Settings.from_env().composer_cache)
    finally:
        progress.close()
    summary = {
        "out": str(result.out),
        "task": "compose",
        "model": model,
        "metrics": result.metrics,
        "parity_max_abs_diff": result.parity.max_abs_diff if result.parity else None,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        emit_json(summary)
    else:
        say(f"{model} package: {result.out} (report {result.out / 'report.html'})")


def load_melody(melody: str) -> Any:
    from lensbox.composer.melody import read_melody
    from lensbox.composer.samples import load_sample

    if melody.startswith("sample:"):
        return load_sample(melody.removeprefix("sample:"))
    return read_melody(Path(melody))


@app.command("generate")
def generate(
    model: Path = typer.Argument(..., help="A composer package folder or .zip."),
    melody: str = typer.Option(..., "--melody", help="A .mid file or sample:NAME."),
    mode: str = typer.Option("accompany", "--mode", help="accompany, rewrite or extend."),
    out: Path = typer.Option(..., "--out", help="The four-track MIDI to write."),
    wav: Path | None = typer.Option(None, "--wav", help="Also render it as a WAV here."),
    png: Path | None = typer.Option(None, "--png", help="Also draw its piano roll here."),
    bars: int = typer.Option(4, "--bars", min=1, max=64, help="extend: bars to add."),
    fraction: float = typer.Option(0.25, "--fraction", help="rewrite: share of notes to change."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Harmonise (accompany), rewrite or extend a melody; MIDI out, WAV and PNG on request."""
    from lensbox.composer.studio import generate_files

    result = generate_files(
        model, load_melody(melody), mode, out, wav=wav, png=png, bars=bars, fraction=fraction,
        seed=seed,
    )  # fmt: skip
    if as_json:
        emit_json(result)
        return
    for message in result["messages"]:
        say(message)
    made = ", ".join(str(p) for p in (out, wav, png) if p is not None)
    say(f"{mode}: {result['notes']} notes in 4 voices, {result['seconds']:.1f} s -> {made}")


@app.command("evaluate")
def evaluate(
    model: Path = typer.Argument(..., help="A composer package folder or .zip."),
    limit: int = typer.Option(0, "--limit", min=0, help="Score only the first N test pieces."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Test-split NLL and how Bach-like its harmonisations are, beside the real pieces."""
    from lensbox.composer.studio import evaluate_package
    from lensbox.settings import Settings

    document = evaluate_package(model, Settings.from_env().composer_cache, limit or None)
    if as_json:
        emit_json(document)
        return
    if "nll" in document:
        say(f"nll {document['nll']:.4f} nats per masked note ({document['test_pieces']} pieces)")
    say(f"{'measure':<26}{'model':>9}{'real':>9}")
    for name, row in document["measures"].items():
        say(f"{name:<26}{row['model']:>9.4f}{row['real']:>9.4f}")


@app.command("samples")
def samples(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """The built-in melodies (public-domain tunes) for --melody sample:NAME."""
    from lensbox.composer.samples import SAMPLES

    rows = [
        {"name": s.name, "title": s.title, "metre": s.metre, "bpm": s.bpm, "notes": len(s.events())}
        for s in SAMPLES.values()
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        say(f"sample:{row['name']:<15} {row['title']} ({row['metre']}, {row['bpm']} bpm)")
