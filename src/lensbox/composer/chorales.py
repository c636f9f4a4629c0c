"""Four-part music as grids: Bach's chorales from music21's corpus, or the user's own files.

The held-out rule is fixed so any two runs (and any checker) agree on it: the chorales sorted by
their path inside the corpus, index i from 0, ``i % 5 == 0`` is the test split, never trained on.
Parsing 400 MusicXML files takes about a minute, so the grids are cached per music21 version.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._atomic import atomic_write_bytes
from lensbox._optional import require
from lensbox.composer.grid import REST, STEPS_PER_QUARTER, Grid
from lensbox.errors import MusicError

CACHE_FORMAT = 1
MUSIC_SUFFIXES = {".mid", ".midi", ".xml", ".musicxml", ".mxl", ".krn"}


@dataclass
class Piece:
    name: str
    grid: Grid


@dataclass
class Corpus:
    train: list[Piece]
    test: list[Piece]
    source: str
    problems: list[str] = field(default_factory=list)  # one line per file skipped

    def fingerprint(self) -> str:
        import hashlib

        digest = hashlib.sha256()
        for piece in self.train + self.test:
            digest.update(piece.name.encode())
            digest.update(piece.grid.pitches.tobytes())
        return digest.hexdigest()

    @property
    def held_out(self) -> list[Piece]:
        """The pieces to score on: the test split, or (a user's folder too small to have one)
        the first training pieces, so a held-out figure is still there to read."""
        return self.test or self.train[:4]


def _part_grid(part: Any, steps: int) -> tuple[np.ndarray, np.ndarray]:
    pitches = np.full(steps, REST, dtype=np.int16)
    onsets = np.zeros(steps, dtype=bool)
    for note in part.flatten().stripTies().notes:
        start = round(float(note.offset) * STEPS_PER_QUARTER)
        end = round(float(note.offset + note.quarterLength) * STEPS_PER_QUARTER)
        if end <= start or start >= steps:
            continue
        pitch = max(p.midi for p in note.pitches)  # a chord in one part: its top note
        pitches[start:end] = pitch
        onsets[start] = True
    return pitches, onsets


def score_to_grid(score: Any, source: str) -> Grid:
    """A music21 score with four or more parts -> a grid: the four parts with the most notes,
    ordered by mean pitch, highest first (soprano)."""
    parts = []
    for part in score.parts:
        notes = list(part.flatten().notes)
        if notes:
            mean = float(np.mean([max(p.midi for p in n.pitches) for n in notes]))
            parts.append((len(notes), mean, part))
    if len(parts) < 4:
        raise MusicError(
            f"{source}: has {len(parts)} part(s) with notes; a training piece needs four "
            "(soprano, alto, tenor, bass)"
        )
    chosen = sorted(sorted(parts, key=lambda p: -p[0])[:4], key=lambda p: -p[1])
    steps = round(float(score.highestTime) * STEPS_PER_QUARTER)
    if steps <= 0:
        raise MusicError(f"{source}: has no duration")
    columns = [_part_grid(part, steps) for _, _, part in chosen]
    return Grid(
        np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1)
    )


def bach_paths() -> list[tuple[str, Path]]:
    """(path inside the corpus, file) of Bach's works in score formats, sorted by that path."""
    corpus = require("music21.corpus", extra="composer")
    root = Path(corpus.getComposer("bach")[0]).parent.parent
    files = [Path(p) for p in corpus.getComposer("bach")]
    items = [(f.relative_to(root).as_posix(), f) for f in files if f.suffix in {".mxl", ".xml"}]
    return sorted(items)


def is_test_index(index: int) -> bool:
    return index % 5 == 0


def _cache_file(cache_dir: Path) -> Path:
    music21 = require("music21", extra="composer")
    return cache_dir / f"bach-chorales-m21-{music21.__version__}-v{CACHE_FORMAT}.npz"


def load_bach(cache_dir: Path | None = None, limit: int | None = None) -> Corpus:
    """The chorales with four parts, split by the fixed rule; from the cache when it is there."""
    cache = _cache_file(cache_dir) if cache_dir is not None else None
    if cache is not None and cache.exists() and limit is None:
        return _read_cache(cache)
    corpus = require("music21.corpus", extra="composer")
    train: list[Piece] = []
    test: list[Piece] = []
    problems: list[str] = []
    for index, (name, path) in enumerate(bach_paths()[:limit]):
        try:
            grid = score_to_grid(corpus.parse(str(path)), name)
        except MusicError as exc:
            problems.append(str(exc))
            continue
        (test if is_test_index(index) else train).append(Piece(name, grid))
    result = Corpus(train, test, "music21 corpus: bach (four-part chorales)", problems)
    if cache is not None and limit is None:
        _write_cache(cache, result)
    return result


def _write_cache(path: Path, corpus: Corpus) -> None:
    arrays: dict[str, np.ndarray] = {}
    index = []
    for split, pieces in (("train", corpus.train), ("test", corpus.test)):
        for number, piece in enumerate(pieces):
            key = f"{split}{number}"
            arrays[key + "_p"] = piece.grid.pitches
            arrays[key + "_o"] = piece.grid.onsets
            index.append({"key": key, "split": split, "name": piece.name})
    meta = {"index": index, "source": corpus.source, "problems": corpus.problems}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def _read_cache(path: Path) -> Corpus:
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        result = Corpus([], [], meta["source"], meta["problems"])
        for entry in meta["index"]:
            grid = Grid(data[entry["key"] + "_p"], data[entry["key"] + "_o"])
            (result.test if entry["split"] == "test" else result.train).append(
                Piece(entry["name"], grid)
            )
    return result


def load_folder(root: Path) -> Corpus:
    """The user's own four-part MIDI/MusicXML files; each bad file is named in one line and
    skipped. Split by the same rule over the files sorted by their path under ``root``."""
    converter = require("music21.converter", extra="composer")
    if not root.is_dir():
        raise MusicError(f"{root}: not a folder; pass --data a folder of MIDI or MusicXML files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MUSIC_SUFFIXES)
    train: list[Piece] = []
    test: list[Piece] = []
    problems: list[str] = []
    for index, path in enumerate(files):
        name = path.relative_to(root).as_posix()
        try:
            score = converter.parse(str(path))
            grid = score_to_grid(score, str(path))
        except MusicError as exc:
            problems.append(str(exc))
            continue
        except Exception as exc:  # music21 raises many kinds for a corrupt file
            problems.append(f"{path}: cannot be read as music ({type(exc).__name__}); skipped")
            continue
        (test if is_test_index(index) else train).append(Piece(name, grid))
    if not train:
        raise MusicError(
            f"{root}: no usable four-part piece to train on ({len(problems)} skipped); "
            "add MIDI or MusicXML files with four parts"
        )
    return Corpus(train, test, str(root), problems)
