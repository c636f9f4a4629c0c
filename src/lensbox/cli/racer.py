"""``lensbox racer ...``: the DeepRacer loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lensbox.cli._common import emit_json, say

app = typer.Typer(help="DeepRacer, local: reward functions, training, time trials.")


def _open_drive_model(model: Path) -> Any:
    """The package's engine; time trials and the league take only drive models."""
    from lensbox.errors import PackageError
    from lensbox.runtime.engine import Engine

    engine = Engine.open(model)
    if engine.manifest.task != "drive":
        raise PackageError(
            f"{model}: a {engine.manifest.task} model; time trials and the league need a "
            "drive model (lensbox racer train)"
        )
    return engine


@app.command("check-reward")
def check_reward(
    reward: Path = typer.Argument(..., help="Python file defining reward_function(params)."),
    track: str = typer.Option(
        "reinvent_base", "--track", help="A shipped track's name or a DeepRacer .npy file."
    ),
    objects: int = typer.Option(0, "--objects", min=0, max=10, help="Boxes on the track."),
    direction: str = typer.Option(
        "counterclockwise", "--direction", help="counterclockwise or clockwise."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Drive a scripted lap (then off the track) through the function: min/mean/max reward,
    or its first error with file, line and step."""
    from lensbox.racer.check import check_reward as run_check
    from lensbox.racer.reward import RewardFunction
    from lensbox.racer.track import load_track

    function = RewardFunction.load(reward)
    result = run_check(function, load_track(track, direction), n_objects=objects)
    document = {"reward": str(reward), "track": track, "objects": objects, **result.to_dict()}
    if as_json:
        emit_json(document)
        return
    for name in ("on_track", "off_track"):
        part = document[name]
        if part.get("n"):
            say(
                f"{name:<9} {part['n']:>5} steps  min {part['min']:.4g}  mean "
                f"{part['mean']:.4g}  max {part['max']:.4g}"
            )
    say(
        f"{reward}: ok ({document['steps']} steps, lap {'complete' if result.lap_complete else 'not complete'})"
    )


@app.command("train")
def train(
    track: str = typer.Option("reinvent_base", "--track", help="Shipped track name or .npy file."),
    reward: Path = typer.Option(..., "--reward", help="Python file with reward_function(params)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the drive package to."),
    model_metadata: Path | None = typer.Option(
        None, "--model-metadata", help="DeepRacer model_metadata.json (action space)."
    ),
    hyperparameters: Path | None = typer.Option(
        None, "--hyperparameters", help="DeepRacer hyperparameters JSON."
    ),
    objects: int = typer.Option(0, "--objects", min=0, max=10, help="Boxes on the track."),
    direction: str = typer.Option("counterclockwise", "--direction"),
    minutes: float = typer.Option(8.0, "--minutes", help="Wall-clock training budget."),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Train on from OUT/checkpoints (the teacher, then the camera student) for --minutes.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Train a car that drives from its camera: PPO teacher on state, DAgger camera student."""
    from lensbox.racer.train import RacerOptions, train_racer
    from lensbox.train.callbacks import RichProgress

    options = RacerOptions(
        track=track,
        direction=direction,
        objects=objects,
        minutes=minutes,
        seed=seed,
        resume=resume,
        model_metadata=str(model_metadata or ""),
        hyperparameters=str(hyperparameters or ""),
    )
    progress = RichProgress()
    try:
        result = train_racer(reward, out, options, progress)
    finally:
        progress.close()
    summary = {
        "out": str(result.out),
        "task": "drive",
        "metrics": {k: v for k, v in result.metrics.items() if not isinstance(v, dict | list)},
        "laps": result.metrics.get("laps"),
        "parity_max_abs_diff": result.parity.max_abs_diff if result.parity else None,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        emit_json(summary)
    else:
        say(f"drive package: {result.out} (report {result.out / 'report.html'})")


@app.command("evaluate")
def evaluate(
    model: Path = typer.Argument(..., help="A drive package folder or .zip."),
    track: str = typer.Option("reinvent_base", "--track", help="Shipped track name or .npy file."),
    laps: int = typer.Option(3, "--laps", min=1, max=50),
    off_track_penalty: float = typer.Option(5.0, "--off-track-penalty", min=0),
    stop_on_off_track: bool = typer.Option(False, "--stop-on-off-track"),
    objects: int = typer.Option(0, "--objects", min=0, max=10),
    direction: str = typer.Option("counterclockwise", "--direction"),
    video: Path | None = typer.Option(None, "--video", help="Write the trial as MP4 here."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Time-trial laps driven by the package's ONNX camera policy (onnxruntime)."""
    from lensbox.racer.evaluate import time_trial
    from lensbox.racer.track import load_track

    engine = _open_drive_model(model)
    result = time_trial(
        engine,
        load_track(track, direction),
        laps=laps,
        off_track_penalty=off_track_penalty,
        stop_on_off_track=stop_on_off_track,
        n_objects=objects,
        video=video,
        seed=seed,
    )
    if as_json:
        emit_json(result)
        return
    for number, lap in enumerate(result["laps"], start=1):
        say(
            f"lap {number}: {lap['time_s']:6.2f} s  {lap['progress']:5.1f}%  "
            f"off-track {lap['off_track']}  crashes {lap['crashes']}"
        )
    say(f"completed {result['completed']}/{laps}, best lap {result['best_lap_s']}")


league_app = typer.Typer(help="A local leaderboard of time trials, with each entry's video.")
app.add_typer(league_app, name="league")


@league_app.command("submit")
def league_submit(
    model: Path = typer.Argument(..., help="A drive package folder or .zip."),
    track: str = typer.Option("reinvent_base", "--track", help="Shipped track name or .npy file."),
    laps: int = typer.Option(3, "--laps", min=1, max=20),
    objects: int = typer.Option(0, "--objects", min=0, max=10),
    racer: str | None = typer.Option(
        None, "--racer", help="Name on the board (default: the model's)."
    ),
    league: Path = typer.Option(Path("league"), "--league", help="The league's folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Run the package's time trial on the track and enter it in the league."""
    from lensbox.racer.league import leaderboard, submit
    from lensbox.racer.track import load_track

    engine = _open_drive_model(model)
    chosen = load_track(track)
    entry = submit(league, engine, chosen, laps=laps, n_objects=objects, racer=racer)
    board = leaderboard(league, chosen.name)
    placed = next(e for e in board if e["model_sha256"] == entry["model_sha256"])
    if as_json:
        emit_json(placed)
    else:
        say(
            f"{placed['racer']}: rank {placed['rank']} of {len(board)} on {chosen.name} "
            f"(completed {placed['completed']}/{laps}, best lap {placed['best_lap_s']})"
        )


@league_app.command("show")
def league_show(
    track: str | None = typer.Option(None, "--track", help="Only this track's board."),
    league: Path = typer.Option(Path("league"), "--league", help="The league's folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """The leaderboard: by completed laps, then best lap, then progress."""
    from lensbox.racer.league import leaderboard

    board = leaderboard(league, track)
    if as_json:
        emit_json({"entries": board})
        return
    for entry in board:
        print(
            f"{entry['track']:<20} {entry['rank']:>3}. {entry['racer']:<24} "
            f"best {entry['best_lap_s'] or '-':>7}  completed {entry['completed']}  "
            f"progress {entry['mean_progress']:5.1f}%  off-track {entry['off_track']}  "
            f"{league / entry['video']}"
        )
