"""/api/v1/compositions: a melody (a MIDI upload or a built-in sample), a composer model and a
mode in; the four-voice MIDI, its WAV and its piano roll out.

Generation runs in the request (a harmonisation takes seconds, numpy and onnxruntime only);
each result lives in its own folder under the console's data, named by a random id.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse

from lensbox._atomic import atomic_write_json
from lensbox.console.db import Model
from lensbox.console.dependencies import SessionDep, SettingsDep, StoreDep
from lensbox.console.schemas import MAX_ID
from lensbox.errors import LensboxError

router = APIRouter(prefix="/compositions", tags=["compositions"])
MAX_MELODY_BYTES = 2 << 20  # a two-minute melody is a few kilobytes of MIDI
FILES = {"midi": ("composition.mid", "audio/midi"), "wav": ("composition.wav", "audio/wav"),
         "png": ("composition.png", "image/png")}  # fmt: skip


def compositions_dir(settings: Any) -> Path:
    return Path(settings.data) / "compositions"


def _folder(settings: Any, composition_id: str) -> Path:
    if not composition_id.isalnum() or len(composition_id) != 32:
        raise HTTPException(404, f"no composition {composition_id!r}")
    folder = compositions_dir(settings) / composition_id
    if not (folder / "result.json").is_file():
        raise HTTPException(404, f"no composition {composition_id!r}")
    return folder


def create_composition(
    settings: Any,
    store: Any,
    session: Any,
    model_id: int,
    mode: str,
    melody_bytes: bytes | None,
    sample: str | None,
    bars: int = 4,
    fraction: float = 0.25,
    seed: int = 0,
    played: list[tuple[int, float, float]] | None = None,
) -> dict[str, Any]:
    """Generate and keep the files; the pages call this too (``played``: notes from the
    studio's on-screen keyboard). Bad input is a 400 in one line."""
    from lensbox.composer.melody import parse_melody, played_melody
    from lensbox.composer.samples import load_sample
    from lensbox.composer.studio import generate_files

    model = session.get(Model, model_id)
    if model is None:
        raise HTTPException(404, f"no model {model_id}")
    if model.task != "compose":
        raise HTTPException(400, f"model {model.id} is a {model.task} model; use a compose model")
    if sum(given is not None for given in (melody_bytes, sample, played)) != 1:
        raise HTTPException(400, "give either a melody file or a sample name, not both")
    composition_id = secrets.token_hex(16)
    folder = compositions_dir(settings) / composition_id
    folder.mkdir(parents=True)
    try:
        if melody_bytes is not None:
            melody = parse_melody(melody_bytes, "uploaded melody")
        elif played is not None:
            melody = played_melody(played)
        else:
            melody = load_sample(str(sample))
        result = generate_files(
            store.path(model.package_sha256), melody, mode, folder / FILES["midi"][0],
            wav=folder / FILES["wav"][0], png=folder / FILES["png"][0], bars=bars,
            fraction=fraction, seed=seed,
        )  # fmt: skip
    except LensboxError as exc:
        shutil.rmtree(folder)
        raise HTTPException(400, str(exc).replace(str(folder), "composition")) from None
    document = {
        "id": composition_id,
        "model_id": model.id,
        **{k: v for k, v in result.items() if k not in ("model", "midi", "wav", "png")},
        "files": {kind: f"/api/v1/compositions/{composition_id}/{kind}" for kind in FILES},
    }
    atomic_write_json(folder / "result.json", document)  # its presence means "done"
    return document


def read_melody_upload(melody: UploadFile) -> bytes:
    """An uploaded MIDI file's bytes, within the size limit (413 beyond it)."""
    data = melody.file.read(MAX_MELODY_BYTES + 1)
    if len(data) > MAX_MELODY_BYTES:
        raise HTTPException(413, f"melody over {MAX_MELODY_BYTES >> 20} MiB; send a MIDI file")
    return data


@router.post("", status_code=201)
def compose(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    model_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    mode: Annotated[str, Form(pattern="^(accompany|rewrite|extend)$")] = "accompany",
    melody: UploadFile | None = None,
    sample: Annotated[str | None, Form(pattern="^[a-z_]{1,40}$")] = None,
    bars: Annotated[int, Form(ge=1, le=64)] = 4,
    fraction: Annotated[float, Form(gt=0, le=1)] = 0.25,
    seed: Annotated[int, Form(ge=0, le=2**31)] = 0,
) -> dict[str, Any]:
    """Harmonise, rewrite or extend a melody (multipart: a ``melody`` MIDI file or a
    ``sample`` name) with a compose model; the answer links the MIDI, WAV and PNG."""
    data = read_melody_upload(melody) if melody is not None else None
    return create_composition(
        settings, store, session, model_id, mode, data, sample, bars, fraction, seed
    )


@router.get("/{composition_id}")
def get_composition(composition_id: str, settings: SettingsDep) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (_folder(settings, composition_id) / "result.json").read_text()
    )
    return document


@router.get("/{composition_id}/{kind}", response_class=FileResponse)
def composition_file(composition_id: str, kind: str, settings: SettingsDep) -> FileResponse:
    """The composition's ``midi``, ``wav`` or ``png``."""
    if kind not in FILES:
        raise HTTPException(404, f"no {kind!r}; files are {', '.join(FILES)}")
    name, media_type = FILES[kind]
    return FileResponse(
        _folder(settings, composition_id) / name, media_type=media_type, filename=name
    )
