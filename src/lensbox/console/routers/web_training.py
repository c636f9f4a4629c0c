"""The datasets and training page: upload a dataset zip with a form and read its ``data check``
report; start training with the task's options and follow it (a progress bar and a loss curve,
live); the trained model appears under Models."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox.console.db import Dataset, TrainingJob
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep
from lensbox.console.pages import FormPost, Page, WebSession, attempt, render
from lensbox.console.routers import training as api
from lensbox.console.schemas import Id

router = APIRouter(include_in_schema=False)
CURVE_KEYS = ("loss", "val_acc", "acc")  # what every task's progress line carries per epoch


def _jobs(session: SessionDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return [
        api.job_out(j, settings).model_dump()
        for j in session.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(50))
    ]


def _training_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebSession,
    error: str | None = None,
    uploaded: int | None = None,
) -> HTMLResponse:
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.id.desc())))
    return render(
        request, "training.html", "Datasets and training", web, 400 if error else 200,
        error=error, datasets=datasets, jobs=_jobs(session, settings), uploaded=uploaded,
    )  # fmt: skip


@router.get("/training", response_class=HTMLResponse)
def training_page(
    request: Request, session: SessionDep, settings: SettingsDep, web: Page
) -> HTMLResponse:
    uploaded = request.query_params.get("dataset")
    return _training_page(
        request,
        session,
        settings,
        web,
        uploaded=int(uploaded) if uploaded and uploaded.isdigit() else None,
    )


@router.post("/training/datasets", response_model=None)
def upload_dataset(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    web: FormPost,
    file: Annotated[UploadFile, File()],
) -> Response:
    dataset, error = attempt(lambda: api.upload_dataset(file, session, store, settings))
    if dataset is None:
        return _training_page(request, session, settings, web, error)
    return RedirectResponse(f"/training?dataset={dataset.id}#dataset-{dataset.id}", status_code=303)


@router.post("/training/jobs", response_model=None)
def start_training(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: FormPost,
    dataset_id: Annotated[int, Form()] = 0,
    epochs: Annotated[str, Form()] = "",
    image_size: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    try:
        given_epochs, given_size = (int(t) if t.strip() else None for t in (epochs, image_size))
    except ValueError:
        message = "epochs and image size are whole numbers (or left empty for the defaults)"
        return _training_page(request, session, settings, web, message)
    job, error = attempt(
        lambda: api.start_job(
            api.JobIn(
                dataset_id=dataset_id,
                epochs=given_epochs,
                image_size=given_size,
                name=name.strip() or None,
            ),
            request,
            session,
            settings,
        )
    )
    if job is None:
        return _training_page(request, session, settings, web, error)
    return RedirectResponse(f"/training#job-{job.id}", status_code=303)


@router.get("/training/jobs.json")
def training_jobs_json(session: SessionDep, settings: SettingsDep, _: Page) -> list[dict[str, Any]]:
    return _jobs(session, settings)


@router.get("/training/jobs/{job_id}/curve.json")
def training_curve(job_id: Id, settings: SettingsDep, _: Page) -> list[dict[str, Any]]:
    """Per-epoch numbers of a job so far (its progress lines that close an epoch)."""
    path = api.job_dir(settings, job_id) / "progress.jsonl"
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if "epoch" in record and any(key in record for key in CURVE_KEYS):
            points.append(
                {k: record[k] for k in ("stage", "done", "epoch", *CURVE_KEYS) if k in record}
            )
    return points
