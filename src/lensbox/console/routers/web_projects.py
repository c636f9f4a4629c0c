"""The projects pages: create a project from a template and a model, edit its settings in a
form (each value checked against the type it has now, the error shown beside its field), and
see which devices run it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox.console.db import Deployment, Device, Model, Project, ProjectVersion
from lensbox.console.dependencies import SessionDep
from lensbox.console.pages import FormPost, Page, WebSession, attempt, render
from lensbox.console.routers import projects as api
from lensbox.console.schemas import ProjectIn, ProjectUpdate
from lensbox.projects import template_names

router = APIRouter(include_in_schema=False)
FIELD = "config."  # form field prefix of a project setting


def _projects_page(
    request: Request, session: SessionDep, web: WebSession, error: str | None = None
) -> HTMLResponse:
    projects = [api.project_out(session, p) for p in session.scalars(select(Project))]
    return render(
        request, "projects.html", "Projects", web, 400 if error else 200, error=error,
        projects=projects, templates=template_names(), models=_models(session),
    )  # fmt: skip


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _projects_page(request, session, web)


@router.post("/projects", response_model=None)
def create_project(
    request: Request,
    session: SessionDep,
    web: FormPost,
    name: Annotated[str, Form()] = "",
    model_id: Annotated[int, Form()] = 0,
    template: Annotated[str, Form()] = "",
) -> Response:
    created, error = attempt(
        lambda: api.create_project(
            ProjectIn(name=name.strip(), model_id=model_id, template=template or None), session
        )
    )
    if created is None:
        return _projects_page(request, session, web, error)
    return RedirectResponse(f"/projects/{created.name}", status_code=303)


@router.get("/projects/{key}", response_class=HTMLResponse)
def project_page(key: str, request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _project_page(request, session, web, key)


@router.post("/projects/{key}", response_model=None)
async def save_project(key: str, request: Request, session: SessionDep, web: FormPost) -> Response:
    """A new project version with the form's settings (and model); deploy it to roll it out."""
    project = api.find_project(session, key)
    current = api.latest_version(session, project)
    form = await request.form()
    config, errors = parse_settings(current.config, {k: str(v) for k, v in form.items()})
    if errors:
        return _project_page(request, session, web, key, errors, status_code=400)
    model_id = int(str(form.get("model_id") or current.model_id))
    _, error = attempt(
        lambda: api.update_project(key, ProjectUpdate(model_id=model_id, config=config), session)
    )
    if error:
        return _project_page(request, session, web, key, {"model_id": error}, status_code=400)
    return RedirectResponse(f"/projects/{project.name}?saved={project.version}", status_code=303)


def parse_settings(
    current: dict[str, Any], form: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings a form sends, each parsed as the type it has now: numbers as numbers, a
    tick box as true/false, lists and maps as JSON. Returns (config, errors by setting)."""
    config: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in current.items():
        text = form.get(FIELD + name)
        if isinstance(value, bool):
            config[name] = text is not None
        elif text is None:
            config[name] = value
        elif isinstance(value, int | float):
            try:
                config[name] = int(text) if isinstance(value, int) else float(text)
            except ValueError:
                errors[name] = (
                    f"{text!r} is not a {'whole ' if isinstance(value, int) else ''}number"
                )
        elif isinstance(value, dict | list):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                errors[name] = f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                continue
            if not isinstance(parsed, type(value)):
                errors[name] = f"must be a JSON {'object' if isinstance(value, dict) else 'list'}"
            else:
                config[name] = parsed
        else:
            config[name] = text
    return config, errors


def _project_page(
    request: Request,
    session: SessionDep,
    web: WebSession,
    key: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    project = api.find_project(session, key)
    out = api.project_out(session, project)
    version_ids = select(ProjectVersion.id).where(ProjectVersion.project_id == project.id)
    running = session.execute(
        select(Device.name, ProjectVersion.version)
        .join(Deployment, Deployment.device_id == Device.id)
        .join(ProjectVersion, Deployment.project_version_id == ProjectVersion.id)
        .where(Deployment.project_version_id.in_(version_ids), Deployment.status == "running")
    ).all()
    settings = {name: _field(value) for name, value in out.config.items()}
    return render(
        request, "project.html", f"Project {project.name}", web, status_code,
        project=out, settings=settings, errors=errors or {}, devices=running,
        models=_models(session), saved=request.query_params.get("saved"),
        error="Some settings were not saved: see the messages beside them." if errors else None,
    )  # fmt: skip


def _field(value: Any) -> tuple[str, Any]:
    """(input kind, shown value) of a setting."""
    if isinstance(value, bool):
        return "tick", value
    if isinstance(value, int | float):
        return "number", value
    if isinstance(value, dict | list):
        return "json", json.dumps(value, indent=2)
    return "text", value


def _models(session: SessionDep) -> list[Model]:
    return list(session.scalars(select(Model).order_by(Model.name, Model.version)))
