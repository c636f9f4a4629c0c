"""Tiny generated music for the composer tests: four-part chorale-like pieces (root-position
triads in C major and A minor, one chord a quarter note) and one-line melodies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pretty_midi = pytest.importorskip("pretty_midi")

# Chords as (bass, tenor, alto, soprano) MIDI pitches, within choir ranges.
CHORDS = {
    "C": (48, 55, 64, 72),
    "F": (53, 57, 65, 72),
    "G": (43, 59, 62, 67),
    "Am": (45, 57, 64, 69),
    "Dm": (50, 57, 65, 74),
    "Em": (52, 59, 67, 71),
}
PROGRESSIONS = [
    ["C", "F", "G", "C"],
    ["Am", "Dm", "G", "C"],
    ["C", "Am", "F", "G"],
    ["F", "G", "Em", "Am"],
    ["C", "Dm", "G", "C"],
]


def write_four_part(path: Path, seed: int, bars: int = 6, bpm: float = 90) -> Path:
    rng = np.random.default_rng(seed)
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    parts = [pretty_midi.Instrument(0, name=n) for n in ("soprano", "alto", "tenor", "bass")]
    quarter = 60 / bpm
    clock = 0.0
    for _ in range(bars):
        for chord in PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]:
            for part, pitch in zip(parts, reversed(CHORDS[chord]), strict=True):
                part.notes.append(pretty_midi.Note(80, pitch, clock, clock + quarter))
            clock += quarter
    midi.instruments.extend(parts)
    midi.write(str(path))
    return path


def write_melody(path: Path, events: list[tuple[int | None, float]], bpm: float = 100) -> Path:
    """One line: (pitch or None for a rest, length in quarter notes) per event."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    line = pretty_midi.Instrument(0, name="melody")
    clock = 0.0
    for pitch, length in events:
        seconds = length * 60 / bpm
        if pitch is not None:
            line.notes.append(pretty_midi.Note(90, pitch, clock, clock + seconds))
        clock += seconds
    midi.instruments.append(line)
    midi.write(str(path))
    return path


@pytest.fixture(scope="session")
def chorale_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chorales")
    for i in range(10):
        write_four_part(root / f"piece{i:02d}.mid", seed=i)
    (root / "broken.mid").write_bytes(b"MThd not really a midi file")
    return root


@pytest.fixture()
def tune(tmp_path: Path) -> Path:
    """A 3/4-ish melody with a pickup, a rest and a 16th-note run."""
    events: list[tuple[int | None, float]] = [(67, 1), (72, 2), (76, 0.5), (74, 0.5), (72, 1)]
    events += [(None, 1), (69, 0.25), (71, 0.25), (72, 0.25), (74, 0.25), (76, 1), (72, 2)]
    events += [(71, 1), (67, 1), (72, 3)]
    return write_melody(tmp_path / "tune.mid", events)
