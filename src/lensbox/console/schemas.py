"""Request and response bodies (pydantic): every input is validated, every error is a 4xx."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_ID = 2**53 - 1  # exact in JSON numbers (doubles) and in SQLite and PostgreSQL integers

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="database id")]


class ErrorOut(BaseModel):
    """Every error the console raises on purpose: one line saying what is wrong."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "invalid input (the message says which)"),
        (401, "missing or wrong key or token"),
        (403, "a device token used on another device's endpoint"),
        (404, "no such resource"),
        (409, "conflicts with the current state"),
        (413, "upload over the size limit"),
    )
}


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    version: int
    task: str
    sha256: str
    size: int
    created_at: datetime
    labels: list[str] = []


class ProjectIn(BaseModel):
    name: str = Field(pattern=NAME)
    model_id: int = Field(ge=1, le=MAX_ID)
    template: str | None = Field(default=None, max_length=100)
    function: str | None = Field(default=None, max_length=200_000)
    config: dict[str, Any] | None = None


class ProjectUpdate(BaseModel):
    model_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    function: str | None = Field(default=None, max_length=200_000)
    config: dict[str, Any] | None = None


class ProjectOut(BaseModel):
    id: int
    name: str
    template: str | None
    version: int
    model_id: int
    model_sha256: str
    config: dict[str, Any]


class DeviceIn(BaseModel):
    name: str = Field(pattern=NAME)
    group: str | None = Field(default=None, pattern=NAME, description="deploy to it by group")


class DeviceGroupIn(BaseModel):
    group: str | None = Field(default=None, pattern=NAME, description="null: in no group")


class DeviceCreated(BaseModel):
    id: int
    name: str
    token: str


class DeviceOut(BaseModel):
    id: int
    name: str
    group: str | None = None
    state: str
    model_sha256: str | None
    fps: float | None
    last_seen: datetime | None


class DeployIn(BaseModel):
    project: str = Field(min_length=1, max_length=200, description="project name or id")
    device: str = Field(min_length=1, max_length=200, description="device name")


class GroupDeployIn(BaseModel):
    project: str = Field(min_length=1, max_length=200, description="project name or id")


class DeploymentOut(BaseModel):
    id: int
    device: str
    project: str
    project_version: int
    model_sha256: str
    status: str
    message: str | None
    created_at: datetime
    updated_at: datetime


class Heartbeat(BaseModel):
    state: str = Field(max_length=40)
    fps: float | None = None
    model_sha256: str | None = Field(default=None, max_length=64)
    deployment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    deployment_status: str | None = Field(default=None, max_length=40)
    message: str | None = Field(default=None, max_length=2000)
    health: dict[str, Any] = {}


class AssignedDeployment(BaseModel):
    deployment_id: int
    device: str
    project: str
    project_version: int
    model_sha256: str
    package_sha256: str
    package_url: str
    function: str | None
    config: dict[str, Any]
