"""/api/v1/projects: a model version + an inference function + its config, versioned."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from lensbox.console.db import Model, Project, ProjectVersion
from lensbox.console.dependencies import SessionDep
from lensbox.console.schemas import ProjectIn, ProjectOut, ProjectUpdate
from lensbox.projects import template_names

router = APIRouter(prefix="/projects", tags=["projects"])


def template_files(name: str) -> tuple[str, dict[str, Any]]:
    """(function source, config) of a project template."""
    if name not in template_names():
        raise HTTPException(404, f"unknown template {name!r}; available: {template_names()}")
    folder = resources.files("lensbox.projects").joinpath("templates", name)
    project = json.loads(folder.joinpath("project.json").read_text("utf-8"))
    function = folder.joinpath(project.get("function", "function.py")).read_text("utf-8")
    return function, dict(project.get("config", {}))


def latest_version(session: SessionDep, project: Project) -> ProjectVersion:
    version = session.scalar(
        select(ProjectVersion).where(
            ProjectVersion.project_id == project.id, ProjectVersion.version == project.version
        )
    )
    assert version is not None
    return version


def project_out(session: SessionDep, project: Project) -> ProjectOut:
    version = latest_version(session, project)
    model = session.get(Model, version.model_id)
    assert model is not None
    return ProjectOut(
        id=project.id,
        name=project.name,
        template=project.template,
        version=project.version,
        model_id=model.id,
        model_sha256=model.sha256,
        config=version.config,
    )


def find_project(session: SessionDep, key: str) -> Project:
    """By name, or by id when ``key`` is a number that is not also a project's name."""
    project = session.scalar(select(Project).where(Project.name == key))
    if project is None and key.isdigit():
        project = session.get(Project, int(key))
    if project is None:
        raise HTTPException(404, f"no project {key!r}")
    return project


@router.post("", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, session: SessionDep) -> ProjectOut:
    if session.get(Model, body.model_id) is None:
        raise HTTPException(404, f"no model {body.model_id}")
    if session.scalar(select(Project).where(Project.name == body.name)) is not None:
        raise HTTPException(409, f"project {body.name!r} exists; update it instead")
    function: str | None = None
    config: dict[str, Any] = {}
    if body.template:
        function, config = template_files(body.template)
    if body.function is not None:
        function = body.function
    if body.config is not None:
        config = body.config
    project = Project(name=body.name, template=body.template, version=1)
    session.add(project)
    session.flush()
    session.add(
        ProjectVersion(
            project_id=project.id,
            version=1,
            model_id=body.model_id,
            function=function,
            config=config,
        )
    )
    session.commit()
    return project_out(session, project)


@router.patch("/{key}", response_model=ProjectOut)
def update_project(key: str, body: ProjectUpdate, session: SessionDep) -> ProjectOut:
    """A new project version: another model, function or config; deploy it to roll it out."""
    project = find_project(session, key)
    current = latest_version(session, project)
    model_id = body.model_id or current.model_id
    if session.get(Model, model_id) is None:
        raise HTTPException(404, f"no model {model_id}")
    project.version += 1
    session.add(
        ProjectVersion(
            project_id=project.id,
            version=project.version,
            model_id=model_id,
            function=body.function if body.function is not None else current.function,
            config=body.config if body.config is not None else current.config,
        )
    )
    session.commit()
    return project_out(session, project)


@router.get("", response_model=list[ProjectOut])
def list_projects(session: SessionDep) -> list[ProjectOut]:
    return [project_out(session, p) for p in session.scalars(select(Project).order_by(Project.id))]


@router.get("/{key}", response_model=ProjectOut)
def get_project(key: str, session: SessionDep) -> ProjectOut:
    return project_out(session, find_project(session, key))
