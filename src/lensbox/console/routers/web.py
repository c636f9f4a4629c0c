"""Server-rendered pages (Jinja2, no front-end build step), behind a login with the admin key.

The device page shows the device's live project stream, proxied through the console so a
browser needs to reach only the console.
"""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from lensbox.console.db import (
    Dataset,
    Deployment,
    Device,
    Model,
    Project,
    Setting,
    TrainingJob,
)
from lensbox.console.dependencies import SessionDep
from lensbox.console.routers.devices import deployment_out, find_device, latest_results
from lensbox.console.routers.projects import project_out
from lensbox.console.schemas import Id
from lensbox.console.security import hash_secret, matches

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "web"))
router = APIRouter(include_in_schema=False)
COOKIE = "lensbox_session"


def logged_in(request: Request, lensbox_session: Annotated[str | None, Cookie()] = None) -> None:
    if not lensbox_session or hash_secret(lensbox_session) not in request.app.state.web_sessions:
        raise HTTPException(303, headers={"Location": "/login"})


Page = Annotated[None, Depends(logged_in)]


def render(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"title": title, "links": {}, **context})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", "Log in", error=None)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(request: Request, session: SessionDep, key: Annotated[str, Form()] = "") -> Response:
    stored = session.get(Setting, "admin_key_hash")
    if stored is None or not matches(key.strip(), stored.value):
        return render(request, "login.html", "Log in", error="That is not the admin key.")
    token = secrets.token_urlsafe(32)
    request.app.state.web_sessions.add(hash_secret(token))
    response = RedirectResponse("/devices", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/devices", status_code=303)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    devices = list(session.scalars(select(Device).order_by(Device.name)))
    return render(request, "devices.html", "Devices", devices=devices)


@router.get("/devices/{name}", response_class=HTMLResponse)
def device_page(name: str, request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    device = find_device(session, name)
    results = latest_results(session, device.id, 20)
    deployments = [
        deployment_out(session, d)
        for d in session.scalars(
            select(Deployment)
            .where(Deployment.device_id == device.id)
            .order_by(Deployment.id.desc())
            .limit(20)
        )
    ]
    return render(
        request,
        "device.html",
        f"Device {name}",
        device=device,
        results=results,
        deployments=deployments,
    )


@router.get("/devices/{name}/results.json")
def device_results(name: str, session: SessionDep, _: Page) -> list[dict[str, Any]]:
    return latest_results(session, find_device(session, name).id, 20)


@router.get("/devices/{name}/stream/{stream}.mjpg")
def device_stream(name: str, stream: str, session: SessionDep, _: Page) -> StreamingResponse:
    """Relay the device's MJPEG stream (the address it reported in its heartbeat)."""
    if stream not in ("device", "project"):
        raise HTTPException(404, "no such stream")
    device = find_device(session, name)
    base = (device.health or {}).get("url")
    if not base:
        raise HTTPException(503, f"device {name!r} has not reported a stream address yet")
    try:
        upstream = urllib.request.urlopen(f"{base}/stream/{stream}.mjpg", timeout=10)
    except OSError as exc:
        raise HTTPException(502, f"device {name!r} stream unreachable: {exc}") from None

    def relay() -> Iterator[bytes]:
        with upstream:
            while chunk := upstream.read1(65536):
                yield chunk

    return StreamingResponse(relay(), media_type=upstream.headers["Content-Type"])


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    rows = [project_out(session, p).model_dump() for p in session.scalars(select(Project))]
    return render(
        request,
        "table.html",
        "Projects",
        rows=rows,
        columns=["id", "name", "template", "version", "model_id", "model_sha256"],
    )


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    rows = [
        {
            "id": m.id,
            "name": m.name,
            "version": m.version,
            "task": m.task,
            "sha256": m.sha256[:16],
            "val_accuracy": m.manifest.get("metrics", {}).get("val_accuracy", "-"),
        }
        for m in session.scalars(select(Model).order_by(Model.name, Model.version))
    ]
    return render(
        request,
        "table.html",
        "Models",
        rows=rows,
        columns=["id", "name", "version", "task", "sha256", "val_accuracy"],
        links={"name": "/models/"},
    )


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(model_id: Id, request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    model = session.get(Model, model_id)
    if model is None:
        raise HTTPException(404, f"no model {model_id}")
    return render(request, "model.html", f"Model {model.name} v{model.version}", model=model)


@router.get("/deployments", response_class=HTMLResponse)
def deployments_page(request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    rows = [
        deployment_out(session, d).model_dump()
        for d in session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(100))
    ]
    return render(
        request,
        "table.html",
        "Deployments",
        rows=rows,
        columns=["id", "device", "project", "project_version", "status", "updated_at"],
    )


def _jobs(session: SessionDep, request: Request) -> list[dict[str, Any]]:
    from lensbox.console.routers.training import _job_out

    settings = request.app.state.settings
    return [
        _job_out(j, settings).model_dump()
        for j in session.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(50))
    ]


@router.get("/training", response_class=HTMLResponse)
def training_page(request: Request, session: SessionDep, _: Page) -> HTMLResponse:
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.id.desc())))
    return render(
        request,
        "training.html",
        "Datasets and training",
        datasets=datasets,
        jobs=_jobs(session, request),
    )


@router.get("/training/jobs.json")
def training_jobs_json(request: Request, session: SessionDep, _: Page) -> list[dict[str, Any]]:
    return _jobs(session, request)
