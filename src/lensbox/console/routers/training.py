"""/api/v1/datasets and /api/v1/training-jobs: upload a dataset zip (any task's layout), check
it, train on it in a background process, follow its progress, and register the model it
produces."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from lensbox.console.db import Dataset, TrainingJob, now
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep, receive_upload
from lensbox.console.jobs import failure_line, spawn
from lensbox.console.packages import inspect_package_zip
from lensbox.console.routers.models import register_model
from lensbox.console.schemas import Id
from lensbox.console.unzip import dataset_root, safe_extract
from lensbox.errors import LensboxError
from lensbox.manifest import zip_package
from lensbox.tasks import get_task, guess_task

router = APIRouter(tags=["training"])


class DatasetOut(BaseModel):
    id: int
    name: str
    sha256: str
    report: dict[str, Any]


class JobIn(BaseModel):
    """Training options; left out, each takes its task's ``lensbox train`` default."""

    dataset_id: int = Field(ge=1, le=2**53 - 1)
    epochs: int | None = Field(default=None, ge=0, le=200)
    image_size: int | None = Field(default=None, ge=32, le=1024)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class JobOut(BaseModel):
    id: int
    dataset_id: int
    status: str
    options: dict[str, Any]
    model_id: int | None
    message: str | None
    progress: dict[str, Any] | None = None


def _dataset_out(dataset: Dataset) -> DatasetOut:
    return DatasetOut(
        id=dataset.id, name=dataset.name, sha256=dataset.sha256, report=dataset.report
    )


@router.post("/datasets", status_code=201, response_model=DatasetOut)
def upload_dataset(
    file: UploadFile, session: SessionDep, store: StoreDep, settings: SettingsDep
) -> DatasetOut:
    """Upload a dataset zip (ImageFolder, VOC/YOLO/COCO, images + masks, clip folders); the
    response carries its ``data check`` report, with the task it was recognised as."""
    sha, _, path = receive_upload(store, file, settings)
    target = settings.data / "datasets" / sha
    if not target.exists():
        try:
            safe_extract(path, target, settings.max_unpacked_bytes, settings.max_zip_ratio)
        except LensboxError as exc:
            raise HTTPException(400, str(exc)) from None
    root = dataset_root(target)
    try:
        task = guess_task(root)
        report = {"task": task, **get_task(task).check_data(root).to_dict()}
    except LensboxError as exc:
        raise HTTPException(400, str(exc)) from None
    report["root"] = root.name
    name = Path(file.filename or "dataset").stem[:200] or "dataset"
    dataset = Dataset(name=name, sha256=sha, path=str(root), report=report)
    session.add(dataset)
    session.commit()
    return _dataset_out(dataset)


@router.get("/datasets", response_model=list[DatasetOut])
def list_datasets(session: SessionDep) -> list[DatasetOut]:
    return [_dataset_out(d) for d in session.scalars(select(Dataset).order_by(Dataset.id))]


@router.get("/datasets/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: Id, session: SessionDep) -> DatasetOut:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise HTTPException(404, f"no dataset {dataset_id}")
    return _dataset_out(dataset)


def job_dir(settings: Any, job_id: int) -> Path:
    return Path(settings.data) / "jobs" / str(job_id)


def last_progress(settings: Any, job_id: int) -> dict[str, Any] | None:
    path = job_dir(settings, job_id) / "progress.jsonl"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in reversed(lines):
        try:
            return dict(json.loads(line))
        except json.JSONDecodeError:
            continue
    return None


def job_out(job: TrainingJob, settings: Any) -> JobOut:
    return JobOut(
        id=job.id,
        dataset_id=job.dataset_id,
        status=job.status,
        options=job.options,
        model_id=job.model_id,
        message=job.message,
        progress=last_progress(settings, job.id),
    )


@router.post("/training-jobs", status_code=201, response_model=JobOut)
def start_job(body: JobIn, request: Request, session: SessionDep, settings: SettingsDep) -> JobOut:
    """Run ``lensbox train`` on a dataset as a background process."""
    dataset = session.get(Dataset, body.dataset_id)
    if dataset is None:
        raise HTTPException(404, f"no dataset {body.dataset_id}")
    if not dataset.report.get("ok"):
        raise HTTPException(
            409, f"dataset {dataset.id} cannot train: {dataset.report.get('errors')}"
        )
    job = TrainingJob(dataset_id=dataset.id, status="running", options=body.model_dump())
    session.add(job)
    session.commit()
    folder = job_dir(settings, job.id)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (body.name or f"{dataset.name}-job{job.id}")
    args = [
        "train",
        dataset.path,
        "--task",
        str(dataset.report.get("task", "classify")),
        "--out",
        str(out),
        *(["--epochs", str(body.epochs)] if body.epochs is not None else []),
        *(["--image-size", str(body.image_size)] if body.image_size is not None else []),
        "--progress-file",
        str(folder / "progress.jsonl"),
        "--json",
    ]
    app, job_id = request.app, job.id
    job.pid = spawn(
        args,
        folder / "train.log",
        lambda code, stdout: _finish(app, job_id, code, stdout, out),
        name=f"lensbox-job-{job.id}",
    )
    session.commit()
    return job_out(job, settings)


def _finish(app: Any, job_id: int, returncode: int, stdout: bytes, out: Path) -> None:
    """Register the training process's package as a model, or record why not."""
    settings = app.state.settings
    with app.state.sessions() as session:
        job = session.get(TrainingJob, job_id)
        if job is None:
            return
        try:
            if returncode != 0:
                raise LensboxError(
                    failure_line(job_dir(settings, job_id) / "train.log", returncode)
                )
            job.model_id = register_package(session, app.state.store, settings, out)
            metrics = json.loads(stdout or b"{}").get("metrics", {})
            shown = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
            job.status = "succeeded"
            job.message = ", ".join(f"{k} {v}" for k, v in list(shown.items())[:4]) or None
        except (LensboxError, OSError, ValueError) as exc:
            job.status, job.message = "failed", str(exc)
        job.updated_at = now()
        session.commit()


def register_package(session: Any, store: Any, settings: Any, package: Path) -> int:
    archive = zip_package(package, package.with_suffix(".zip"))
    with open(archive, "rb") as handle:
        sha, size, path = store.put_stream(handle, settings.max_upload_bytes)
    manifest = inspect_package_zip(path, settings.max_unpacked_bytes, settings.max_zip_ratio)
    model = register_model(session, manifest, sha, size)
    return int(model.id)


@router.get("/training-jobs", response_model=list[JobOut])
def list_jobs(session: SessionDep, settings: SettingsDep) -> list[JobOut]:
    return [
        job_out(j, settings) for j in session.scalars(select(TrainingJob).order_by(TrainingJob.id))
    ]


@router.get("/training-jobs/{job_id}", response_model=JobOut)
def get_job(job_id: Id, session: SessionDep, settings: SettingsDep) -> JobOut:
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise HTTPException(404, f"no training job {job_id}")
    return job_out(job, settings)


@router.get("/training-jobs/{job_id}/events")
def job_events(job_id: Id, request: Request, session: SessionDep, settings: SettingsDep) -> Any:
    """Progress lines as Server-Sent Events until the job ends."""
    if session.get(TrainingJob, job_id) is None:
        raise HTTPException(404, f"no training job {job_id}")
    path = job_dir(settings, job_id) / "progress.jsonl"
    sessions = request.app.state.sessions

    def events() -> Iterator[str]:
        sent = 0
        while True:
            lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
            for line in lines[sent:]:
                yield f"data: {line}\n\n"
            sent = len(lines)
            with sessions() as fresh:
                job = fresh.get(TrainingJob, job_id)
                if job is None or job.status != "running":
                    yield f"event: end\ndata: {json.dumps({'status': job.status if job else 'gone'})}\n\n"
                    return
            time.sleep(0.5)

    return StreamingResponse(events(), media_type="text/event-stream")
