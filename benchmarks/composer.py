"""Benchmark: the composer. ``lensbox composer train`` with defaults (inpaint, then gan), each
timed; ``lensbox composer evaluate`` (test-split NLL and the measures beside Bach's); then both
models accompany real folk, dance and song melodies that are not Bach (from music21's corpus:
Ryan's Mammoth Collection reels and hornpipes with 16th-note runs, Essen folk songs, O'Neill's
Irish tunes; any metre, pickups), judged melody by melody with the figures the issue asks for:
soprano note for note, scale consistency, parallels per 100 pair moves, lower-voice motion,
out-of-range notes, and a non-silent WAV of the right length.

Writes ``benchmarks/results/composer.json``.

Usage: ``python benchmarks/composer.py [--model inpaint|gan|both] [--melodies 12]
[--skip-train]`` (packages are kept in ``benchmarks/results/composer-MODEL``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
# (corpus path, opus number or None, bpm): tunes a user might bring, none of them Bach.
MELODIES = [
    ("ryansMammoth/7thRegimentReel.abc", None, 100),
    ("ryansMammoth/AcrobatsHornpipe.abc", None, 90),
    ("ryansMammoth/AdmiralsHornpipe.abc", None, 90),
    ("ryansMammoth/AlbemarleHornpipe.abc", None, 90),
    ("ryansMammoth/AldridgesHornpipe.abc", None, 90),
    ("essenFolksong/altdeu10.abc", 1, 100),
    ("essenFolksong/altdeu10.abc", 9, 100),
    ("essenFolksong/ballad30.abc", 2, 100),
    ("oneills1850/0001-0050.abc", 12, 110),
    ("oneills1850/0001-0050.abc", 20, 110),
    ("airdsAirs/book1.abc", 5, 90),
    ("airdsAirs/book1.abc", 9, 90),
]
MAX_SECONDS = 100.0


def lensbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lensbox", *args], capture_output=True, text=True, timeout=1800
    )


def melody_midi(path: str, number: int | None, bpm: int, out: Path) -> Path | None:
    """The tune's first part as a one-track MIDI, cut at MAX_SECONDS."""
    import pretty_midi
    from music21 import corpus, harmony, stream

    parsed = corpus.parse(path)
    if isinstance(parsed, stream.Opus):
        parsed = parsed.scores[(number or 1) - 1]
    part = parsed.parts[0] if parsed.parts else parsed
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    line = pretty_midi.Instrument(0, name="melody")
    seconds_per_quarter = 60.0 / bpm
    for note in part.flatten().stripTies().notes:
        if isinstance(note, harmony.ChordSymbol):
            continue
        start = float(note.offset) * seconds_per_quarter
        end = start + float(note.quarterLength) * seconds_per_quarter
        if end > MAX_SECONDS or end <= start:
            break
        pitch = max(p.midi for p in note.pitches)
        line.notes.append(pretty_midi.Note(90, pitch, start, end))
    if len(line.notes) < 8:
        return None
    midi.instruments.append(line)
    midi.write(str(out))
    return out


def judge(melody: Path, result: Path, wav: Path) -> dict[str, object]:
    """The issue's figures for one harmonisation, from the MIDI files themselves."""
    import numpy as np
    import pretty_midi

    from lensbox.composer import metrics
    from lensbox.composer.grid import Grid
    from lensbox.composer.render import wav_rms, wav_seconds

    source, out = pretty_midi.PrettyMIDI(str(melody)), pretty_midi.PrettyMIDI(str(result))
    given = [(round(n.start, 3), round(n.end, 3), n.pitch) for n in source.instruments[0].notes]
    top = [(round(n.start, 3), round(n.end, 3), n.pitch) for n in out.instruments[0].notes]
    quarter = source.tick_to_time(source.resolution)
    steps = int(np.ceil(out.get_end_time() / (quarter / 4))) + 1
    pitches = np.full((steps, 4), -1, dtype=np.int16)
    onsets = np.zeros((steps, 4), dtype=bool)
    for voice, track in enumerate(out.instruments):
        for note in track.notes:
            a = round(note.start / (quarter / 4))
            b = max(round(note.end / (quarter / 4)), a + 1)
            pitches[a:b, voice] = note.pitch
            onsets[a, voice] = True
    grid = Grid(pitches, onsets)
    length = source.get_end_time()
    seconds = wav_seconds(wav)
    return {
        "soprano_equal": given == top,
        "scale_consistency": round(metrics.scale_consistency(grid), 4),
        "parallel_fifths_octaves": round(metrics.parallel_fifths_octaves(grid), 3),
        "lower_voice_motion": round(metrics.lower_voice_motion(grid), 3),
        "out_of_range_rate": round(metrics.out_of_range_rate(grid), 4),
        "qualified_note_rate": round(metrics.qualified_note_rate(grid, (1, 2, 3)), 4),
        "empty_bar_rate": round(metrics.empty_bar_rate(grid, (1, 2, 3)), 4),
        "wav_seconds": round(seconds, 2),
        "wav_ok": bool(length - 0.1 <= seconds <= length + 3 and wav_rms(wav) > 0.005),
        "seconds": round(length, 1),
    }


def passes(row: dict[str, object], model: str) -> bool:
    if model == "gan":
        return bool(
            row["soprano_equal"]
            and row["qualified_note_rate"] >= 0.75  # type: ignore[operator]
            and row["empty_bar_rate"] <= 0.10
            and row["lower_voice_motion"] >= 0.30  # type: ignore[operator]
        )
    return bool(
        row["soprano_equal"]
        and row["scale_consistency"] >= 0.88  # type: ignore[operator]
        and row["parallel_fifths_octaves"] <= 1.0  # type: ignore[operator]
        and row["lower_voice_motion"] >= 0.40  # type: ignore[operator]
        and row["out_of_range_rate"] <= 0.05
        and row["wav_ok"]  # type: ignore[operator]
    )


def bench_model(
    model: str, work: Path, melodies: list[Path], skip_train: bool
) -> dict[str, object]:
    out = RESULTS / f"composer-{model}"  # kept, so the sampler can be judged again
    train_seconds = None
    if not (skip_train and out.is_dir()):
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        trained = lensbox("composer", "train", "--model", model, "--out", str(out), "--json")
        train_seconds = round(time.perf_counter() - started, 1)
        if trained.returncode != 0:
            return {"error": trained.stderr.strip().splitlines()[-1:]}
    evaluated = json.loads(lensbox("composer", "evaluate", str(out), "--json").stdout)
    rows = []
    for melody in melodies:
        result, wav = work / f"{model}-{melody.stem}.mid", work / f"{model}-{melody.stem}.wav"
        started = time.perf_counter()
        made = lensbox(
            "composer", "generate", str(out), "--melody", str(melody), "--mode", "accompany",
            "--out", str(result), "--wav", str(wav),
        )  # fmt: skip
        if made.returncode != 0:
            rows.append({"melody": melody.stem, "error": made.stderr.strip()})
            continue
        row = {"melody": melody.stem, **judge(melody, result, wav)}
        row["generate_seconds"] = round(time.perf_counter() - started, 1)
        row["passes"] = passes(row, model)
        rows.append(row)
    judged = [r for r in rows if "error" not in r]
    return {
        "train_seconds": train_seconds,
        "evaluate": evaluated,
        "melodies": rows,
        "passed": f"{sum(bool(r.get('passes')) for r in rows)}/{len(rows)}",
        "median_scale_consistency": statistics.median(r["scale_consistency"] for r in judged)
        if judged
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["inpaint", "gan", "both"], default="both")
    parser.add_argument("--melodies", type=int, default=len(MELODIES))
    parser.add_argument(
        "--skip-train", action="store_true", help="judge the package of an earlier run again"
    )
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        melodies = []
        for index, (path, number, bpm) in enumerate(MELODIES[: args.melodies]):
            made = melody_midi(path, number, bpm, work / f"tune{index:02d}.mid")
            if made is not None:
                melodies.append(made)
        results["melodies_from"] = [m[0] + (f"#{m[1]}" if m[1] else "") for m in MELODIES]
        for model in ("inpaint", "gan") if args.model == "both" else (args.model,):
            results[model] = bench_model(model, work, melodies, args.skip_train)
            print(
                json.dumps(
                    {model: {k: v for k, v in results[model].items() if k != "melodies"}}, indent=1
                ),
                flush=True,
            )  # type: ignore[union-attr]
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / "composer.json"
    previous = json.loads(target.read_text()) if target.exists() else {}
    target.write_text(json.dumps({**previous, **results}, indent=2) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
