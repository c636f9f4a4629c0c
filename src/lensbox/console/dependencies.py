"""Shared FastAPI dependencies: the database session, the blob store, and authentication."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from lensbox.console.db import Device, Setting
from lensbox.console.schemas import Id
from lensbox.console.security import matches
from lensbox.console.settings import ConsoleSettings
from lensbox.console.store import BlobStore


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.store
    return store


def get_settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            401, "missing Authorization: Bearer KEY", {"WWW-Authenticate": "Bearer"}
        )
    return authorization[7:].strip()


def require_admin(
    session: Annotated[Session, Depends(get_session)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    key = _bearer(authorization)
    stored = session.get(Setting, "admin_key_hash")
    if stored is None or not matches(key, stored.value):
        raise HTTPException(401, "invalid admin key", {"WWW-Authenticate": "Bearer"})


def require_device(
    device_id: Id,
    session: Annotated[Session, Depends(get_session)],
    authorization: Annotated[str | None, Header()] = None,
) -> Device:
    """The device whose token this is; a token of another device gets 403."""
    token = _bearer(authorization)
    device = session.get(Device, device_id)
    if device is not None and matches(token, device.token_hash):
        return device
    for candidate in session.scalars(select(Device)):
        if matches(token, candidate.token_hash):
            raise HTTPException(403, "this device token belongs to another device")
    raise HTTPException(401, "invalid device token", {"WWW-Authenticate": "Bearer"})


def receive_upload(store: BlobStore, file: Any, settings: ConsoleSettings) -> tuple[str, int, Any]:
    """Store an uploaded file by its sha256; over the size limit is a 413."""
    from lensbox.errors import UploadTooLarge

    try:
        return store.put_stream(file.file, settings.max_upload_bytes)
    except UploadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None


SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
SettingsDep = Annotated[ConsoleSettings, Depends(get_settings)]
DeviceDep = Annotated[Device, Depends(require_device)]
Json = dict[str, Any]
