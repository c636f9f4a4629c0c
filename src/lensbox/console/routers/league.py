"""/api/v1/league: enter a drive model in a track's time trial and read the leaderboard.

A submission is evaluated in the background by ``lensbox racer league submit`` (a child
process: laps of simulation and a video take a while), into the same league folder the CLI
uses; the board is that folder's league file, ranked as the CLI ranks it, and each entry's
video is served from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from lensbox.console.db import LeagueRun, Model, now
from lensbox.console.dependencies import SessionDep, SettingsDep
from lensbox.console.jobs import failure_line, spawn
from lensbox.console.schemas import MAX_ID, NAME, Id
from lensbox.errors import LensboxError
from lensbox.racer.track import SHIPPED

router = APIRouter(prefix="/league", tags=["league"])


class RunIn(BaseModel):
    model_id: int = Field(ge=1, le=MAX_ID)
    track: str = Field(
        default="reinvent_base", description="a shipped track: " + ", ".join(SHIPPED)
    )
    laps: int = Field(default=3, ge=1, le=10)
    objects: int = Field(default=0, ge=0, le=10)
    racer: str | None = Field(default=None, pattern=NAME)


class RunOut(BaseModel):
    id: int
    model_id: int
    track: str
    status: str
    options: dict[str, Any]
    message: str | None
    entry: dict[str, Any] | None


class BoardOut(BaseModel):
    entries: list[dict[str, Any]]


def league_dir(settings: Any) -> Path:
    return Path(settings.data) / "league"


def _run_out(run: LeagueRun) -> RunOut:
    return RunOut(
        id=run.id,
        model_id=run.model_id,
        track=run.track,
        status=run.status,
        options=run.options,
        message=run.message,
        entry=run.entry,
    )


def submit_run(app: Any, session: Any, body: RunIn) -> LeagueRun:
    """Record the submission and start its time trial; the pages call this too."""
    settings, store = app.state.settings, app.state.store
    model = session.get(Model, body.model_id)
    if model is None:
        raise HTTPException(404, f"no model {body.model_id}")
    if model.task != "drive":
        raise HTTPException(
            400, f"model {model.id} is a {model.task} model; the league takes drive models"
        )
    if body.track not in SHIPPED:
        raise HTTPException(400, f"unknown track {body.track!r}; tracks: {', '.join(SHIPPED)}")
    run = LeagueRun(model_id=model.id, track=body.track, options=body.model_dump())
    session.add(run)
    session.commit()
    log = league_dir(settings) / "runs" / f"{run.id}.log"
    args = [
        "racer", "league", "submit", str(store.path(model.package_sha256)),
        "--track", body.track, "--laps", str(body.laps), "--objects", str(body.objects),
        "--racer", body.racer or f"{model.name}-v{model.version}",
        "--league", str(league_dir(settings)), "--json",
    ]  # fmt: skip
    run_id = run.id
    spawn(args, log, lambda code, out: _finish(app, run_id, code, out, log), f"league-{run.id}")
    return run


def _finish(app: Any, run_id: int, returncode: int, stdout: bytes, log: Path) -> None:
    with app.state.sessions() as session:
        run = session.get(LeagueRun, run_id)
        if run is None:
            return
        try:
            if returncode != 0:
                raise LensboxError(failure_line(log, returncode))
            run.entry = json.loads(stdout)
            run.status, run.message = "succeeded", None
        except (LensboxError, ValueError) as exc:
            run.status, run.message = "failed", str(exc)
        run.updated_at = now()
        session.commit()


@router.post("/runs", status_code=201, response_model=RunOut)
def create_run(body: RunIn, request: Request, session: SessionDep) -> RunOut:
    """Enter a drive model in a track's time trial; poll the run for its entry."""
    return _run_out(submit_run(request.app, session, body))


@router.get("/runs", response_model=list[RunOut])
def list_runs(session: SessionDep) -> list[RunOut]:
    return [_run_out(r) for r in session.scalars(select(LeagueRun).order_by(LeagueRun.id))]


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: Id, session: SessionDep) -> RunOut:
    run = session.get(LeagueRun, run_id)
    if run is None:
        raise HTTPException(404, f"no league run {run_id}")
    return _run_out(run)


@router.get("", response_model=BoardOut)
def board(settings: SettingsDep, track: str | None = None) -> BoardOut:
    """The leaderboard, per track: completed laps, then best lap, then progress."""
    from lensbox.racer.league import leaderboard

    try:
        return BoardOut(entries=leaderboard(league_dir(settings), track))
    except LensboxError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/videos/{name}", response_class=FileResponse)
def video(name: str, settings: SettingsDep) -> FileResponse:
    """An entry's time-trial video (the ``video`` of a board entry, without ``videos/``)."""
    folder = (league_dir(settings) / "videos").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise HTTPException(404, f"no league video {name!r}")
    return FileResponse(path, media_type="video/mp4")
