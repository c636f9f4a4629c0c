"""/api/v1/agent/{device_id}/...: what a device calls with its own token (403 with another's).

The deployment endpoint supports ETag + long-poll: a device that sends ``If-None-Match`` with
the deployment it has waits up to ``wait`` seconds for a new one instead of polling fast.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Response
from fastapi.responses import FileResponse
from sqlalchemy import select

from lensbox.console.db import (
    Deployment,
    Model,
    Project,
    ProjectVersion,
    add_results,
    now,
)
from lensbox.console.dependencies import DeviceDep, SessionDep, SettingsDep, StoreDep
from lensbox.console.schemas import AssignedDeployment, Heartbeat

router = APIRouter(prefix="/agent/{device_id}", tags=["agent"])


def _current(session: SessionDep, device_id: int) -> Deployment | None:
    return session.scalar(
        select(Deployment)
        .where(
            Deployment.device_id == device_id,
            Deployment.status.in_(("pending", "downloading", "running")),
        )
        .order_by(Deployment.id.desc())
    )


@router.get(
    "/deployment",
    response_model=AssignedDeployment,
    responses={204: {"description": "nothing deployed"}, 304: {"description": "unchanged"}},
)
def assigned(
    device: DeviceDep,
    session: SessionDep,
    wait: float = 0.0,
    if_none_match: str | None = Header(default=None),
) -> Any:
    deadline = time.monotonic() + max(0.0, min(wait, 30.0))
    while True:
        session.expire_all()
        deployment = _current(session, device.id)
        etag = f'"{deployment.id}"' if deployment else '"none"'
        if if_none_match != etag or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    if deployment is None:
        return Response(status_code=204, headers={"ETag": etag})
    version = session.get(ProjectVersion, deployment.project_version_id)
    assert version is not None
    project = session.get(Project, version.project_id)
    model = session.get(Model, version.model_id)
    assert project is not None and model is not None
    body = AssignedDeployment(
        deployment_id=deployment.id,
        device=device.name,
        project=project.name,
        project_version=version.version,
        model_sha256=model.sha256,
        package_sha256=model.package_sha256,
        package_url=f"/api/v1/agent/{device.id}/packages/{model.package_sha256}",
        function=version.function,
        config=version.config,
    )
    return Response(body.model_dump_json(), media_type="application/json", headers={"ETag": etag})


@router.get("/packages/{sha256}", response_class=FileResponse)
def package(sha256: str, device: DeviceDep, session: SessionDep, store: StoreDep) -> FileResponse:
    model = session.scalar(select(Model).where(Model.package_sha256 == sha256))
    if model is None or not store.exists(sha256):
        raise HTTPException(404, "no such package")
    return FileResponse(store.path(sha256), media_type="application/zip")


@router.post("/heartbeat", status_code=204)
def heartbeat(body: Heartbeat, device: DeviceDep, session: SessionDep) -> None:
    device.state = body.state
    device.fps = body.fps
    device.model_sha256 = body.model_sha256
    device.health = body.health
    device.last_seen = now()
    if body.deployment_id is not None and body.deployment_status is not None:
        deployment = session.get(Deployment, body.deployment_id)
        if deployment is not None and deployment.device_id == device.id:
            if body.deployment_status == "running" and deployment.status != "running":
                for old in session.scalars(
                    select(Deployment).where(
                        Deployment.device_id == device.id,
                        Deployment.status == "running",
                        Deployment.id != deployment.id,
                    )
                ):
                    old.status, old.updated_at = "replaced", now()
            if deployment.status != body.deployment_status:
                deployment.status = body.deployment_status
                deployment.message = body.message
                deployment.updated_at = now()
    session.commit()


@router.post("/results", status_code=204)
def post_results(
    results: list[dict[str, Any]], device: DeviceDep, session: SessionDep, settings: SettingsDep
) -> None:
    """Keep the newest results (bounded per device)."""
    add_results(session, device.id, results, settings.results_per_device)
    session.commit()
