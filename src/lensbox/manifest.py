"""The model package: ``model.onnx`` + ``manifest.json``, the contract between train and runtime.

The manifest is the package's card (as timm's ``PretrainedCfg``): it says how pixels become the
input tensor and how outputs become results, so no consumer ever guesses preprocessing. The
runtime refuses a package whose checksum or schema does not match, and says which.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lensbox._atomic import atomic_write_json
from lensbox._zipcheck import check_members, package_prefix
from lensbox.errors import ChecksumError, PackageError, SchemaError

SCHEMA_VERSION = 1
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.html"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ResizeMode = Literal["stretch", "center-crop"]
ColorOrder = Literal["rgb", "bgr", "gray"]


class InputSpec(BaseModel):
    """How a decoded image becomes the model's input tensor.

    Pixels (0-255) are resized (``resize``), put in ``color`` order, multiplied by ``scale``,
    then normalised per channel as ``(x - mean) / std``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "input"
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    color: ColorOrder = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: ResizeMode = "stretch"
    dtype: Literal["float32"] = "float32"

    @property
    def channels(self) -> int:
        """3 for colour input; 1 for ``gray`` (a DeepRacer camera frame)."""
        return 1 if self.color == "gray" else 3

    @field_validator("std")
    @classmethod
    def _std_nonzero(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v == 0 for v in value):
            raise ValueError("std must not contain 0")
        return value


class OutputSpec(BaseModel):
    """One model output and how to decode it (e.g. ``logits`` decoded with ``softmax``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str = "logits"
    decode: str = "softmax"


class Parity(BaseModel):
    """How far the ONNX outputs are from PyTorch's on the same inputs."""

    max_abs_diff: float
    tolerance: float
    n_samples: int
    passed: bool


class ModelManifest(BaseModel):
    """Everything a consumer needs to run ``model.onnx`` correctly, and where it came from."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str
    task: str
    labels: list[str] = Field(min_length=1)
    input: InputSpec
    outputs: list[OutputSpec] = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    provenance: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    parity: Parity | None = None
    task_params: dict[str, Any] = Field(default_factory=dict)
    # Further files of the package (name -> sha256), e.g. an activity model's temporal head.
    files: dict[str, str] = Field(default_factory=dict)
    # "int8" after `lensbox optimize --int8`; what it was calibrated on and what it scored.
    precision: Literal["fp32", "int8"] = "fp32"
    optimization: dict[str, Any] = Field(default_factory=dict)
    # The inference engine this package runs best on; a device without it falls back.
    preferred_backend: Literal["onnxruntime", "openvino"] | None = None

    @field_validator("files")
    @classmethod
    def _files_safe(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or name in (
                MODEL_FILE,
                MANIFEST_FILE,
            ):
                raise ValueError(f"bad package file name {name!r}")
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"files[{name!r}] is not a sha256 hex digest")
        return value

    def file_names(self) -> list[str]:
        """Every file a package holds, manifest included: what zips and downloads carry."""
        return [MODEL_FILE, MANIFEST_FILE, *sorted(self.files)]

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("labels must be unique")
        return value

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelPackage:
    """A verified package on disk: its folder, its manifest and the path of its ONNX file."""

    root: Path
    manifest: ModelManifest

    @property
    def model_path(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def sha256(self) -> str:
        return self.manifest.sha256


def parse_manifest(data: dict[str, Any], source: str) -> ModelManifest:
    """Validate a manifest dict, with an error that names the file and the first bad field."""
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise SchemaError(
            f"{source}: manifest schema_version {version} is newer than this lensbox supports "
            f"({SCHEMA_VERSION}); upgrade lensbox"
        )
    try:
        return ModelManifest.model_validate(data)
    except ValidationError as exc:
        raise SchemaError(
            f"{source}: manifest does not match schema v{SCHEMA_VERSION}: "
            f"{first_problem(exc, '(root)')}; re-export or re-import the model"
        ) from None


def first_problem(exc: ValidationError, root: str) -> str:
    """A pydantic error in one line: where the first problem is, what it is, and how many
    there are (``root`` names the document itself when the problem is at its top)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or root
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"


def write_package(
    root: str | Path,
    onnx_bytes: bytes,
    manifest: ModelManifest,
    extra_files: dict[str, bytes] | None = None,
) -> ModelPackage:
    """Write ``model.onnx`` (and any extra files) and a manifest holding their checksums."""
    from lensbox._atomic import atomic_write_bytes

    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    extra = extra_files or {}
    files = {name: hashlib.sha256(data).hexdigest() for name, data in extra.items()}
    final = ModelManifest.model_validate(
        {**manifest.model_dump(), "sha256": digest, "files": files}
    )
    for name, data in extra.items():
        atomic_write_bytes(out / name, data)
    atomic_write_bytes(out / MODEL_FILE, onnx_bytes)
    atomic_write_json(out / MANIFEST_FILE, json.loads(final.to_json()))
    return ModelPackage(out, final)


def zip_package(folder: Path, archive: Path) -> Path:
    """Zip a package folder's model.onnx, manifest.json and the files the manifest lists (the
    form uploads and devices use), plus its training report when there is one: the console
    shows it on the model's page; a device never reads it."""
    manifest = parse_manifest(
        json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")), str(folder)
    )
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in manifest.file_names():
            zf.write(folder / name, name)
        if (folder / REPORT_FILE).is_file():
            zf.write(folder / REPORT_FILE, REPORT_FILE)
    return archive


def _extract_zip(path: Path) -> Path:
    """Unpack a zipped package into a private temp folder, refusing members that escape it."""
    dest = Path(tempfile.mkdtemp(prefix="lensbox-pkg-"))
    try:
        with zipfile.ZipFile(path) as archive:
            check_members(archive.infolist(), str(path))
            names = set(archive.namelist())
            # A package zipped with its folder has one top-level directory; accept both forms.
            prefix = package_prefix(names, MANIFEST_FILE)
            wanted_files = [MODEL_FILE, MANIFEST_FILE]
            if prefix + MANIFEST_FILE in names:
                try:
                    data = json.loads(archive.read(prefix + MANIFEST_FILE))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    data = None  # load_package reports the bad manifest
                if isinstance(data, dict):
                    # The schema check vets the extra file names before any is written.
                    wanted_files = parse_manifest(data, f"{path}:{MANIFEST_FILE}").file_names()
            for wanted in wanted_files:
                if prefix + wanted not in names:
                    raise PackageError(
                        f"{path}: zip holds no {wanted}; a package zip holds model.onnx, "
                        "manifest.json and the files the manifest lists"
                    )
                with archive.open(prefix + wanted) as src, open(dest / wanted, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile:
        shutil.rmtree(dest, ignore_errors=True)
        raise PackageError(f"{path}: not a valid zip file; pass a package folder or .zip") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def load_package(path: str | Path, verify: bool = True) -> ModelPackage:
    """Open a package folder or ``.zip``; check schema and (by default) the ONNX checksum."""
    src = Path(path)
    if not src.exists():
        raise PackageError(
            f"{src}: no such model package; pass a folder or .zip from lensbox train"
        )
    root = _extract_zip(src) if src.is_file() else src
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise PackageError(f"{src}: no {MANIFEST_FILE}; is this a lensbox model package?")
    if not (root / MODEL_FILE).is_file():
        raise PackageError(f"{src}: no {MODEL_FILE} beside {MANIFEST_FILE}")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{manifest_path}: not valid JSON ({exc}); re-export the model") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{manifest_path}: expected a JSON object")
    manifest = parse_manifest(data, str(manifest_path))
    if verify:
        for name, expected in {MODEL_FILE: manifest.sha256, **manifest.files}.items():
            if not (root / name).is_file():
                raise PackageError(f"{src}: the manifest lists {name} but the package lacks it")
            actual = sha256_file(root / name)
            if actual != expected:
                raise ChecksumError(
                    f"{src}: {name} sha256 {actual[:12]}… does not match the manifest's "
                    f"{expected[:12]}…; the package is corrupt or was edited, re-export it"
                )
    return ModelPackage(root, manifest)
