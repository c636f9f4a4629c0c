"""The composer studio: a sample melody, an uploaded MIDI file or a tune played on the page's
keyboard; a compose model and a mode; Generate; then listen (an <audio> element with the
rendered WAV), look at the piano roll and download the MIDI."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox.console.db import Model
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep
from lensbox.console.pages import FormPost, Page, WebSession, attempt, render
from lensbox.console.routers import compositions as api

router = APIRouter(include_in_schema=False)


def _studio_page(
    request: Request, session: SessionDep, web: WebSession, error: str | None = None
) -> HTMLResponse:
    from lensbox.composer.samples import SAMPLES

    models = list(session.scalars(select(Model).where(Model.task == "compose").order_by(Model.id)))
    return render(
        request, "studio.html", "Composer studio", web, 400 if error else 200, error=error,
        models=models, samples=sorted(SAMPLES),
    )  # fmt: skip


@router.get("/studio", response_class=HTMLResponse)
def studio_page(request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    return _studio_page(request, session, web)


@router.post("/studio", response_model=None)
def generate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    web: FormPost,
    model_id: Annotated[int, Form()] = 0,
    mode: Annotated[str, Form(pattern="^(accompany|rewrite|extend)$")] = "accompany",
    source: Annotated[str, Form(pattern="^(sample|upload|played)$")] = "sample",
    sample: Annotated[str, Form()] = "",
    played: Annotated[str, Form(max_length=200_000)] = "",
    melody: Annotated[UploadFile | None, File()] = None,
    bars: Annotated[int, Form(ge=1, le=64)] = 4,
    fraction: Annotated[float, Form(gt=0, le=1)] = 0.25,
    seed: Annotated[int, Form(ge=0, le=2**31)] = 0,
) -> Response:
    data: bytes | None = None
    notes: list[tuple[int, float, float]] | None = None
    if source == "upload":
        data, error = (
            attempt(lambda: api.read_melody_upload(melody)) if melody is not None else (b"", None)
        )
        if error:
            return _studio_page(request, session, web, error)
        if not data:
            return _studio_page(request, session, web, "choose a MIDI file to upload")
    elif source == "played":
        try:
            notes = [(int(p), float(a), float(b)) for p, a, b in json.loads(played or "[]")]
        except (ValueError, TypeError):
            return _studio_page(request, session, web, "the played notes did not arrive whole")
    document, error = attempt(
        lambda: api.create_composition(
            settings, store, session, model_id, mode, data,
            sample if source == "sample" else None, bars, fraction, seed, played=notes,
        )
    )  # fmt: skip
    if document is None:
        return _studio_page(request, session, web, error)
    return RedirectResponse(f"/studio/{document['id']}", status_code=303)


@router.get("/studio/{composition_id}", response_class=HTMLResponse)
def composition_page(
    composition_id: str, request: Request, settings: SettingsDep, web: Page
) -> HTMLResponse:
    result = api.get_composition(composition_id, settings)
    shown = {k: v for k, v in result.items() if isinstance(v, int | float | str) and k != "id"}
    measures: dict[str, Any] = result.get("measures") or {}
    return render(
        request, "composition.html", "Composition", web, result=result, shown=shown,
        measures=measures, messages=result.get("messages") or [],
    )  # fmt: skip


@router.get("/studio/{composition_id}/{kind}")
def composition_file(
    composition_id: str, kind: str, settings: SettingsDep, _: Page
) -> FileResponse:
    if kind not in api.FILES:
        raise HTTPException(404, f"no {kind!r}")
    return api.composition_file(composition_id, kind, settings)
