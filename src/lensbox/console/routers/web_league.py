"""The racer's pages: the league (submit a drive model to a track's time trial, the board with
each entry's video playable in the page) and a training form whose reward function is checked
on submit (``racer check-reward`` in a child process: the user's code never runs inside the
console), its error shown at its line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox._atomic import atomic_write_json, atomic_write_text
from lensbox.console.db import LeagueRun, Model
from lensbox.console.dependencies import SessionDep, SettingsDep
from lensbox.console.jobs import failure_line, spawn
from lensbox.console.pages import FormPost, Page, WebSession, attempt, render
from lensbox.console.routers import league as api
from lensbox.console.routers.training import register_package
from lensbox.racer.track import SHIPPED

router = APIRouter(include_in_schema=False)
EXAMPLE_REWARD = '''def reward_function(params):
    """Follow the centre line (AWS DeepRacer's first example)."""
    width = params["track_width"]
    distance = params["distance_from_center"]
    if distance <= 0.1 * width:
        reward = 1.0
    elif distance <= 0.25 * width:
        reward = 0.5
    elif distance <= 0.5 * width:
        reward = 0.1
    else:
        reward = 1e-3
    return float(reward)
'''
MAX_REWARD_CHARS = 100_000
CHECK_SECONDS = 120
ERROR_LINE = re.compile(r"^error: .*?:(\d+): ")


def racer_jobs_dir(settings: Any) -> Path:
    return Path(settings.data) / "racer-jobs"


def _league_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebSession,
    error: str | None = None,
    reward: str = EXAMPLE_REWARD,
    reward_error: str | None = None,
    reward_line: int | None = None,
) -> HTMLResponse:
    try:
        entries = api.board(settings).entries
    except HTTPException as exc:  # a damaged league file: the page says so and still works
        entries, error = [], error or str(exc.detail)
    models = list(session.scalars(select(Model).where(Model.task == "drive").order_by(Model.id)))
    runs = list(session.scalars(select(LeagueRun).order_by(LeagueRun.id.desc()).limit(20)))
    return render(
        request, "league.html", "Racer league", web,
        400 if error or reward_error else 200, error=error, entries=entries, models=models,
        runs=runs, tracks=SHIPPED, reward=reward, reward_error=reward_error,
        reward_line=reward_line, jobs=_racer_jobs(settings),
    )  # fmt: skip


@router.get("/league", response_class=HTMLResponse)
def league_page(
    request: Request, session: SessionDep, settings: SettingsDep, web: Page
) -> HTMLResponse:
    return _league_page(request, session, settings, web)


@router.post("/league", response_model=None)
def submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: FormPost,
    model_id: Annotated[int, Form()] = 0,
    track: Annotated[str, Form()] = "reinvent_base",
    laps: Annotated[int, Form()] = 3,
    objects: Annotated[int, Form()] = 0,
) -> Response:
    _, error = attempt(
        lambda: api.submit_run(
            request.app, session,
            api.RunIn(model_id=model_id, track=track, laps=laps, objects=objects),
        )
    )  # fmt: skip
    if error:
        return _league_page(request, session, settings, web, error)
    return RedirectResponse("/league#runs", status_code=303)


@router.get("/league/runs.json")
def runs_json(session: SessionDep, _: Page) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "status": r.status, "message": r.message}
        for r in session.scalars(select(LeagueRun).order_by(LeagueRun.id.desc()).limit(20))
    ]


@router.post("/league/training", response_model=None)
def start_racer_training(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: FormPost,
    reward: Annotated[str, Form(max_length=MAX_REWARD_CHARS)] = "",
    track: Annotated[str, Form()] = "reinvent_base",
    objects: Annotated[int, Form(ge=0, le=10)] = 0,
    minutes: Annotated[float, Form(gt=0, le=120)] = 8.0,
) -> Response:
    """Check the reward function first; train only a function that ran a whole scripted lap."""
    if track not in SHIPPED:
        return _league_page(request, session, settings, web, f"unknown track {track!r}")
    job, folder = _new_job_folder(racer_jobs_dir(settings))
    reward_file = folder / "reward.py"
    atomic_write_text(reward_file, reward)
    problem = check_reward_file(reward_file, track, objects)
    if problem is not None:
        message, line = problem
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        return _league_page(
            request, session, settings, web, reward=reward,
            reward_error=message.replace(str(reward_file), "reward.py"), reward_line=line,
        )  # fmt: skip
    out = folder / f"racer-{job}"
    atomic_write_json(folder / "status.json", {"id": job, "status": "running", "track": track})
    args = [
        "racer", "train", "--track", track, "--reward", str(reward_file), "--objects",
        str(objects), "--minutes", str(minutes), "--out", str(out), "--json",
    ]  # fmt: skip
    app = request.app
    spawn(
        args, folder / "train.log", lambda code, _: _finish(app, folder, code, out), f"racer-{job}"
    )
    return RedirectResponse("/league#training", status_code=303)


def _new_job_folder(root: Path) -> tuple[int, Path]:
    """The next job number's folder, claimed by creating it (two submissions at once cannot
    get the same one)."""
    root.mkdir(parents=True, exist_ok=True)
    while True:
        job = 1 + max((int(p.name) for p in root.glob("*") if p.name.isdigit()), default=0)
        try:
            (root / str(job)).mkdir()
            return job, root / str(job)
        except FileExistsError:
            continue


def check_reward_file(path: Path, track: str, objects: int) -> tuple[str, int | None] | None:
    """None when the function drove the scripted lap; else (its one-line error, its line)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lensbox", "racer", "check-reward", str(path),
             "--track", track, "--objects", str(objects), "--json"],
            capture_output=True, text=True, timeout=CHECK_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"the reward function took over {CHECK_SECONDS} s for one scripted lap", None
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    message = lines[-1] if lines else f"check-reward failed (exit code {done.returncode})"
    match = ERROR_LINE.match(message)
    return message, int(match.group(1)) if match else None


def _finish(app: Any, folder: Path, returncode: int, out: Path) -> None:
    status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    try:
        if returncode != 0:
            raise RuntimeError(failure_line(folder / "train.log", returncode))
        with app.state.sessions() as session:
            status["model_id"] = register_package(session, app.state.store, app.state.settings, out)
            session.commit()
        status["status"] = "succeeded"
    except Exception as exc:  # the job's own record says why; the console goes on
        status["status"], status["message"] = "failed", str(exc)
    atomic_write_json(folder / "status.json", status)


def _racer_jobs(settings: Any) -> list[dict[str, Any]]:
    jobs = []
    for path in racer_jobs_dir(settings).glob("*/status.json"):
        try:
            jobs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(jobs, key=lambda j: -int(j.get("id", 0)))[:20]


@router.get("/league/videos/{name}")
def league_video(name: str, settings: SettingsDep, _: Page) -> Response:
    return api.video(name, settings)
