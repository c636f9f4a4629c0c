"""A local league: drive packages entered for a track's time trial, ranked like DeepRacer's.

Each entry is one time trial of one package (by its sha256) on one track, run when it is
submitted, with its video kept beside the league file. The ranking puts entries that completed
more laps first, then the faster best lap, then the further mean progress; an entry that never
completed a lap is ranked by how far it got. The league is one JSON file, written atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lensbox._atomic import atomic_write_json
from lensbox.errors import DataError
from lensbox.racer.evaluate import time_trial
from lensbox.racer.track import Track

LEAGUE_FILE = "league.json"


def _read(root: Path) -> list[dict[str, Any]]:
    path = root / LEAGUE_FILE
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a league file ({exc}); move it aside to start anew") from None
    if not isinstance(entries, list):
        raise DataError(f"{path}: not a league file; move it aside to start anew")
    return entries


def rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(entry: dict[str, Any]) -> tuple[float, float, float]:
        best = entry.get("best_lap_s")
        return (-entry["completed"], best if best is not None else 1e9, -entry["mean_progress"])

    ranked = sorted(entries, key=key)
    return [{**entry, "rank": position} for position, entry in enumerate(ranked, start=1)]


def submit(
    root: Path,
    engine: Any,
    track: Track,
    laps: int = 3,
    n_objects: int = 0,
    racer: str | None = None,
) -> dict[str, Any]:
    """Run the time trial (with video) and record the entry; a package entered again on the
    same track replaces its earlier entry."""
    root.mkdir(parents=True, exist_ok=True)
    sha = engine.manifest.sha256
    video = root / "videos" / f"{track.name}-{sha[:12]}.mp4"
    trial = time_trial(engine, track, laps=laps, n_objects=n_objects, video=video)
    entry = {
        "racer": racer or engine.manifest.name,
        "model_sha256": sha,
        "track": track.name,
        "objects": n_objects,
        "laps": trial["laps"],
        "completed": trial["completed"],
        "best_lap_s": trial["best_lap_s"],
        "mean_progress": trial["mean_progress"],
        "off_track": trial["off_track"],
        "crashes": trial["crashes"],
        "video": str(video.relative_to(root)),
        "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    with _locked(root):  # two submissions finishing together must not lose an entry
        entries = [
            e for e in _read(root) if not (e["model_sha256"] == sha and e["track"] == track.name)
        ]
        entries.append(entry)
        atomic_write_json(root / LEAGUE_FILE, entries)
    return entry


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".league.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def leaderboard(root: Path, track: str | None = None) -> list[dict[str, Any]]:
    entries = _read(root)
    tracks = sorted({e["track"] for e in entries}) if track is None else [track]
    board: list[dict[str, Any]] = []
    for name in tracks:
        board += rank([e for e in entries if e["track"] == name])
    return board
