"""The devices pages: add a device (its token shown once, with the command that starts its
agent), and per device its live streams, Deploy, Roll back, its group, and its results as a
table and a chart, fed live from the results the device posts."""

from __future__ import annotations

import shlex
import urllib.request
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from lensbox.console.db import Deployment, Device, Project
from lensbox.console.dependencies import SessionDep
from lensbox.console.pages import FormPost, Page, WebSession, attempt, base_url, render
from lensbox.console.routers import devices as api
from lensbox.console.schemas import DeployIn, DeviceGroupIn, DeviceIn

router = APIRouter(include_in_schema=False)
RESULTS_SHOWN = 300  # about the last minute at a few results a second: the chart's window


def agent_command(console_url: str, token: str) -> str:
    """The line that starts a device's agent (camera 0; a video file path works too)."""
    return shlex.join(
        ["lensbox", "device", "run", "--console", console_url, "--token", token, "--source", "0"]
    )


def _devices_page(
    request: Request,
    session: SessionDep,
    web: WebSession,
    error: str | None = None,
    created: dict[str, str] | None = None,
) -> HTMLResponse:
    devices = list(session.scalars(select(Device).order_by(Device.name)))
    return render(
        request, "devices.html", "Devices", web, 400 if error else (201 if created else 200),
        devices=devices, error=error, created=created,
    )  # fmt: skip


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _devices_page(request, session, web)


@router.post("/devices", response_class=HTMLResponse)
def add_device(
    request: Request,
    session: SessionDep,
    web: FormPost,
    name: Annotated[str, Form()] = "",
    group: Annotated[str, Form()] = "",
) -> HTMLResponse:
    added, error = attempt(
        lambda: api.add_device(DeviceIn(name=name.strip(), group=group.strip() or None), session)
    )
    if added is None:
        return _devices_page(request, session, web, error)
    created = {
        "name": added.name,
        "token": added.token,
        "command": agent_command(base_url(request), added.token),
    }
    return _devices_page(request, session, web, created=created)


@router.get("/devices/{name}", response_class=HTMLResponse)
def device_page(name: str, request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _device_page(request, session, web, name)


def _device_page(
    request: Request, session: SessionDep, web: WebSession, name: str, error: str | None = None
) -> HTMLResponse:
    device = api.find_device(session, name)
    deployments = [
        api.deployment_out(session, d)
        for d in session.scalars(
            select(Deployment)
            .where(Deployment.device_id == device.id)
            .order_by(Deployment.id.desc())
            .limit(20)
        )
    ]
    projects = list(session.scalars(select(Project).order_by(Project.name)))
    return render(
        request, "device.html", f"Device {name}", web, 400 if error else 200, error=error,
        device=device, deployments=deployments, projects=projects,
    )  # fmt: skip


@router.post("/devices/{name}/deploy", response_model=None)
def deploy(
    name: str,
    request: Request,
    session: SessionDep,
    web: FormPost,
    project: Annotated[str, Form()] = "",
) -> Response:
    _, error = attempt(lambda: api.deploy(DeployIn(project=project, device=name), session))
    return _after(request, session, web, name, error)


@router.post("/devices/{name}/rollback", response_model=None)
def rollback(name: str, request: Request, session: SessionDep, web: FormPost) -> Response:
    _, error = attempt(lambda: api.rollback(name, session))
    return _after(request, session, web, name, error)


@router.post("/devices/{name}/group", response_model=None)
def set_group(
    name: str,
    request: Request,
    session: SessionDep,
    web: FormPost,
    group: Annotated[str, Form()] = "",
) -> Response:
    _, error = attempt(
        lambda: api.set_group(name, DeviceGroupIn(group=group.strip() or None), session)
    )
    return _after(request, session, web, name, error)


def _after(
    request: Request, session: SessionDep, web: WebSession, name: str, error: str | None
) -> Response:
    if error:
        return _device_page(request, session, web, name, error)
    return RedirectResponse(f"/devices/{name}", status_code=303)


@router.get("/devices/{name}/results.json")
def device_results(name: str, session: SessionDep, _: Page) -> dict[str, Any]:
    """The newest results (newest first) and the device's state, for the page's live parts."""
    device = api.find_device(session, name)
    deployment = session.scalar(
        select(Deployment).where(Deployment.device_id == device.id).order_by(Deployment.id.desc())
    )
    return {
        "state": device.state,
        "fps": device.fps,
        "model_sha256": device.model_sha256,
        "last_seen": device.last_seen.isoformat(timespec="seconds") if device.last_seen else None,
        "deployment": api.deployment_out(session, deployment).model_dump(mode="json")
        if deployment
        else None,
        "results": api.latest_results(session, device.id, RESULTS_SHOWN),
    }


@router.get("/devices/{name}/stream/{stream}.mjpg")
def device_stream(name: str, stream: str, session: SessionDep, _: Page) -> StreamingResponse:
    """Relay the device's MJPEG stream (the address it reported in its heartbeat), so a
    browser needs to reach only the console."""
    if stream not in ("device", "project"):
        raise HTTPException(404, "no such stream")
    device = api.find_device(session, name)
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
