"""/api/v1/models: upload a package zip, list, versions, download, delete (refused if deployed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import func, select

from lensbox.console.db import Deployment, Model, ProjectVersion
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep, receive_upload
from lensbox.console.packages import inspect_package_zip
from lensbox.console.schemas import Id, ModelOut
from lensbox.errors import PackageError

router = APIRouter(prefix="/models", tags=["models"])


def model_out(model: Model) -> ModelOut:
    out = ModelOut.model_validate(model)
    out.labels = list(model.manifest.get("labels", []))
    return out


@router.post("", status_code=201, response_model=ModelOut)
def upload_model(
    file: UploadFile, session: SessionDep, store: StoreDep, settings: SettingsDep
) -> ModelOut:
    """Upload a model package as a zip (model.onnx + manifest.json); versions count per name."""
    sha, size, path = receive_upload(store, file, settings)
    try:
        manifest = inspect_package_zip(path, settings.max_unpacked_bytes, settings.max_zip_ratio)
    except PackageError as exc:
        raise HTTPException(400, str(exc)) from None
    model = register_model(session, manifest, sha, size)
    session.commit()
    return model_out(model)


def register_model(session: Any, manifest: dict[str, Any], package_sha256: str, size: int) -> Model:
    """A new version of the manifest's model name, or the existing one with the same ONNX."""
    name = str(manifest["name"])[:200]
    existing = session.scalar(
        select(Model).where(Model.name == name, Model.sha256 == manifest["sha256"])
    )
    if existing is not None:
        return existing
    latest = session.scalar(select(func.max(Model.version)).where(Model.name == name)) or 0
    model = Model(
        name=name,
        version=latest + 1,
        task=manifest["task"],
        sha256=manifest["sha256"],
        package_sha256=package_sha256,
        size=size,
        manifest=manifest,
    )
    session.add(model)
    session.flush()
    return model


@router.get("", response_model=list[ModelOut])
def list_models(session: SessionDep, name: str | None = None) -> list[ModelOut]:
    query = select(Model).order_by(Model.name, Model.version)
    if name is not None:
        query = query.where(Model.name == name)
    return [model_out(m) for m in session.scalars(query)]


def find_model(session: SessionDep, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise HTTPException(404, f"no model {model_id}")
    return model


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: Id, session: SessionDep) -> ModelOut:
    return model_out(find_model(session, model_id))


@router.get("/{model_id}/download", response_class=FileResponse)
def download_model(model_id: Id, session: SessionDep, store: StoreDep) -> FileResponse:
    model = find_model(session, model_id)
    return FileResponse(
        store.path(model.package_sha256),
        media_type="application/zip",
        filename=f"{model.name}-v{model.version}.zip",
    )


@router.delete("/{model_id}", status_code=204)
def delete_model(model_id: Id, session: SessionDep) -> None:
    model = find_model(session, model_id)
    used = session.scalar(
        select(func.count(Deployment.id))
        .join(ProjectVersion, Deployment.project_version_id == ProjectVersion.id)
        .where(
            ProjectVersion.model_id == model.id,
            Deployment.status.in_(("pending", "downloading", "running")),
        )
    )
    if used:
        raise HTTPException(409, f"model {model_id} is deployed; deploy another model first")
    referenced = session.scalar(
        select(func.count(ProjectVersion.id)).where(ProjectVersion.model_id == model.id)
    )
    if referenced:
        raise HTTPException(409, f"model {model_id} is used by a project version")
    session.delete(model)
    session.commit()
