"""The local league: time trials of drive packages, ranked, each with its video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lensbox.racer.league import rank
from tests.helpers import cli_in_process
from tests.helpers.drive_models import constant_driver
from tests.helpers.tracks import write_track


def test_entries_are_ranked_with_their_videos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    track = write_track(tmp_path / "stadium.npy", straight=4.0, radius=1.2)
    league = tmp_path / "league"
    straight_fast = constant_driver(tmp_path / "straight-fast", preferred=5)  # 0 deg, 0.8 m/s
    straight_slow = constant_driver(tmp_path / "straight-slow", preferred=4)  # 0 deg, 0.4 m/s
    for model in (straight_fast, straight_slow, straight_fast):  # the last one re-enters
        code, out, err = cli_in_process(
            capsys, "racer", "league", "submit", str(model), "--track", str(track),
            "--laps", "1", "--league", str(league), "--json",
        )  # fmt: skip
        assert code == 0, err
        entry = json.loads(out)
        assert entry["rank"] in (1, 2) and entry["off_track"] >= 1  # straight: off at a bend
    code, out, _ = cli_in_process(
        capsys, "racer", "league", "show", "--league", str(league), "--json"
    )
    board = json.loads(out)["entries"]
    assert [e["rank"] for e in board] == [1, 2] and len({e["racer"] for e in board}) == 2
    assert rank(board) == board  # the order the rule gives
    for entry in board:
        assert (league / entry["video"]).stat().st_size > 10_000
    code, _, err = cli_in_process(capsys, "racer", "league", "submit", str(tmp_path / "nope"))
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_the_ranking_rule() -> None:
    entries = [
        {"racer": "a", "completed": 3, "best_lap_s": 9.0, "mean_progress": 100.0},
        {"racer": "b", "completed": 3, "best_lap_s": 8.0, "mean_progress": 100.0},
        {"racer": "c", "completed": 1, "best_lap_s": 7.0, "mean_progress": 60.0},
        {"racer": "d", "completed": 0, "best_lap_s": None, "mean_progress": 80.0},
        {"racer": "e", "completed": 0, "best_lap_s": None, "mean_progress": 90.0},
    ]
    assert [e["racer"] for e in rank(entries)] == ["b", "a", "c", "e", "d"]
