"""The models pages: upload a package with a form, read its training report and metrics,
search its labels, download it."""

from __future__ import annotations

import zipfile
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox._zipcheck import package_prefix
from lensbox.console.db import Model
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep
from lensbox.console.pages import FormPost, Page, attempt, render
from lensbox.console.routers import models as api
from lensbox.console.schemas import Id
from lensbox.manifest import MANIFEST_FILE, REPORT_FILE

router = APIRouter(include_in_schema=False)
MAX_REPORT_BYTES = 32 << 20
# The report is the trainer's own HTML: shown sandboxed, with no script and nothing fetched.
REPORT_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _models_page(
    request: Request, session: SessionDep, web: Page, error: str | None = None
) -> HTMLResponse:
    models = list(session.scalars(select(Model).order_by(Model.name, Model.version)))
    return render(
        request, "models.html", "Models", web, 400 if error else 200, models=models, error=error
    )


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _models_page(request, session, web)


@router.post("/models", response_model=None)
def upload_model(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    web: FormPost,
    file: Annotated[UploadFile, File()],
) -> Response:
    model, error = attempt(lambda: api.upload_model(file, session, store, settings))
    if model is None:
        return _models_page(request, session, web, error)
    return RedirectResponse(f"/models/{model.id}", status_code=303)


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(
    model_id: Id, request: Request, session: SessionDep, store: StoreDep, web: Page
) -> HTMLResponse:
    model = api.find_model(session, model_id)
    metrics = model.manifest.get("metrics", {})
    headline = {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}
    return render(
        request, "model.html", f"Model {model.name} v{model.version}", web, model=model,
        headline=headline, has_report=_report(store, model) is not None,
    )  # fmt: skip


@router.get("/models/{model_id}/report", response_class=HTMLResponse)
def model_report(model_id: Id, session: SessionDep, store: StoreDep, _: Page) -> Response:
    report = _report(store, api.find_model(session, model_id))
    if report is None:
        raise HTTPException(404, "this package carries no training report")
    return Response(
        report, media_type="text/html", headers={"Content-Security-Policy": REPORT_POLICY}
    )


@router.get("/models/{model_id}/download", response_class=FileResponse)
def download(model_id: Id, session: SessionDep, store: StoreDep, _: Page) -> FileResponse:
    return api.download_model(model_id, session, store)


def _report(store: StoreDep, model: Model) -> bytes | None:
    """The package's report.html, read from the stored zip (checked when it was uploaded)."""
    try:
        with zipfile.ZipFile(store.path(model.package_sha256)) as archive:
            prefix = package_prefix(set(archive.namelist()), MANIFEST_FILE)
            info = archive.getinfo(prefix + REPORT_FILE)
            if info.file_size > MAX_REPORT_BYTES:
                return None
            return archive.read(info)
    except (KeyError, OSError, zipfile.BadZipFile):
        return None
