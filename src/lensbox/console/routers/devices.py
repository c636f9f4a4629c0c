"""/api/v1/devices and /api/v1/deployments: register devices, deploy project versions, roll back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from sqlalchemy import select

from lensbox.console.db import Deployment, Device, Model, Project, ProjectVersion, ResultRow, now
from lensbox.console.dependencies import SessionDep
from lensbox.console.routers.projects import find_project, latest_version
from lensbox.console.schemas import (
    NAME,
    DeployIn,
    DeploymentOut,
    DeviceCreated,
    DeviceGroupIn,
    DeviceIn,
    DeviceOut,
    GroupDeployIn,
    Id,
)
from lensbox.console.security import hash_secret, new_secret

router = APIRouter(tags=["devices"])

ACTIVE = ("pending", "downloading", "running")


def find_device(session: SessionDep, name: str) -> Device:
    device = session.scalar(select(Device).where(Device.name == name))
    if device is None:
        raise HTTPException(404, f"no device {name!r}")
    return device


def deployment_out(session: SessionDep, deployment: Deployment) -> DeploymentOut:
    version = session.get(ProjectVersion, deployment.project_version_id)
    assert version is not None
    project = session.get(Project, version.project_id)
    model = session.get(Model, version.model_id)
    device = session.get(Device, deployment.device_id)
    assert project is not None and model is not None and device is not None
    return DeploymentOut(
        id=deployment.id,
        device=device.name,
        project=project.name,
        project_version=version.version,
        model_sha256=model.sha256,
        status=deployment.status,
        message=deployment.message,
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
    )


@router.post("/devices", status_code=201, response_model=DeviceCreated)
def add_device(body: DeviceIn, session: SessionDep) -> DeviceCreated:
    """Register a device; its token is shown in this response only and stored hashed."""
    if session.scalar(select(Device).where(Device.name == body.name)) is not None:
        raise HTTPException(409, f"device {body.name!r} exists")
    device = Device(name=body.name, group=body.group, token_hash="", health={})
    session.add(device)
    session.flush()
    token = f"{device.id}.{new_secret('lbd')}"  # the agent reads its device id from the token
    device.token_hash = hash_secret(token)
    session.commit()
    return DeviceCreated(id=device.id, name=device.name, token=token)


def device_out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        group=device.group,
        name=device.name,
        state=device.state,
        model_sha256=device.model_sha256,
        fps=device.fps,
        last_seen=device.last_seen,
    )


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(session: SessionDep) -> list[DeviceOut]:
    return [device_out(d) for d in session.scalars(select(Device).order_by(Device.name))]


@router.put("/devices/{name}/group", response_model=DeviceOut)
def set_group(name: str, body: DeviceGroupIn, session: SessionDep) -> DeviceOut:
    """Move a device into a group (group deployments reach it) or out of every group."""
    device = find_device(session, name)
    device.group = body.group
    session.commit()
    return device_out(device)


@router.get("/devices/{name}/results")
def device_results(name: str, session: SessionDep, limit: int = 50) -> list[dict[str, Any]]:
    """The newest results a device posted, newest first."""
    return latest_results(session, find_device(session, name).id, limit)


def latest_results(session: SessionDep, device_id: int, limit: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ResultRow)
        .where(ResultRow.device_id == device_id)
        .order_by(ResultRow.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    return [row.data for row in rows]


def _deploy(session: SessionDep, device: Device, version: ProjectVersion) -> Deployment:
    for active in session.scalars(
        select(Deployment).where(Deployment.device_id == device.id, Deployment.status == "pending")
    ):
        active.status, active.updated_at = "superseded", now()
    deployment = Deployment(device_id=device.id, project_version_id=version.id, status="pending")
    session.add(deployment)
    session.commit()
    return deployment


@router.post("/deployments", status_code=201, response_model=DeploymentOut)
def deploy(body: DeployIn, session: SessionDep) -> DeploymentOut:
    """Deploy a project's newest version to a device; the device pulls it on its next poll."""
    project = find_project(session, body.project)
    device = find_device(session, body.device)
    return deployment_out(session, _deploy(session, device, latest_version(session, project)))


@router.post("/groups/{group}/deployments", status_code=201, response_model=list[DeploymentOut])
def deploy_group(
    group: Annotated[str, Path(pattern=NAME)], body: GroupDeployIn, session: SessionDep
) -> list[DeploymentOut]:
    """Deploy a project's newest version to every device of a group."""
    project = find_project(session, body.project)
    devices = list(session.scalars(select(Device).where(Device.group == group)))
    if not devices:
        raise HTTPException(404, f"no device in group {group!r}")
    version = latest_version(session, project)
    return [deployment_out(session, _deploy(session, d, version)) for d in devices]


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut)
def get_deployment(deployment_id: Id, session: SessionDep) -> DeploymentOut:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise HTTPException(404, f"no deployment {deployment_id}")
    return deployment_out(session, deployment)


@router.get("/deployments", response_model=list[DeploymentOut])
def list_deployments(session: SessionDep, device: str | None = None) -> list[DeploymentOut]:
    query = select(Deployment).order_by(Deployment.id.desc()).limit(200)
    if device is not None:
        query = query.where(Deployment.device_id == find_device(session, device).id)
    return [deployment_out(session, d) for d in session.scalars(query)]


@router.post("/devices/{name}/rollback", status_code=201, response_model=DeploymentOut)
def rollback(name: str, session: SessionDep) -> DeploymentOut:
    """Deploy again the project version that ran before the current one."""
    device = find_device(session, name)
    history = list(
        session.scalars(
            select(Deployment)
            .where(
                Deployment.device_id == device.id, Deployment.status.in_(("running", "replaced"))
            )
            .order_by(Deployment.id.desc())
        )
    )
    if len(history) < 2:
        raise HTTPException(409, f"device {name!r} has no previous deployment to roll back to")
    current = history[0]
    previous = next(
        (d for d in history[1:] if d.project_version_id != current.project_version_id), None
    )
    if previous is None:
        raise HTTPException(409, f"device {name!r} has run only one project version")
    version = session.get(ProjectVersion, previous.project_version_id)
    assert version is not None
    return deployment_out(session, _deploy(session, device, version))
