"""Request and response bodies (pydantic): every input is validated, every error is a 4xx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


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
    model_id: int = Field(ge=1)
    template: str | None = Field(default=None, max_length=100)
    function: str | None = Field(default=None, max_length=200_000)
    config: dict[str, Any] | None = None


class ProjectUpdate(BaseModel):
    model_id: int | None = Field(default=None, ge=1)
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


class DeviceCreated(BaseModel):
    id: int
    name: str
    token: str


class DeviceOut(BaseModel):
    id: int
    name: str
    state: str
    model_sha256: str | None
    fps: float | None
    last_seen: datetime | None


class DeployIn(BaseModel):
    project: str = Field(min_length=1, max_length=200, description="project name or id")
    device: str = Field(min_length=1, max_length=200, description="device name")


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
    deployment_id: int | None = None
    deployment_status: str | None = Field(default=None, max_length=40)
    message: str | None = Field(default=None, max_length=2000)
    health: dict[str, Any] = {}


class AssignedDeployment(BaseModel):
    deployment_id: int
    project: str
    project_version: int
    model_sha256: str
    package_sha256: str
    package_url: str
    function: str | None
    config: dict[str, Any]
