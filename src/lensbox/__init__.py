"""lensbox: local-first computer vision, from labelled images to a device with two live streams.

The public API is curated here; importing it loads neither torch nor onnxruntime nor OpenCV.
``Engine`` is loaded on first use, so ``import lensbox`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lensbox._version import __version__
from lensbox.errors import (
    AccuracyDropError,
    ChecksumError,
    ConsoleError,
    DataError,
    ExportError,
    FunctionError,
    ImageError,
    LabelError,
    LensboxError,
    MissingExtraError,
    MusicError,
    PackageError,
    RewardError,
    SchemaError,
    SourceError,
    TrainError,
    UploadTooLarge,
)
from lensbox.manifest import ModelManifest, ModelPackage, load_package
from lensbox.results import Frame, Result

if TYPE_CHECKING:
    from lensbox.runtime.engine import Engine

__all__ = [
    "AccuracyDropError",
    "ChecksumError",
    "ConsoleError",
    "DataError",
    "Engine",
    "ExportError",
    "Frame",
    "FunctionError",
    "ImageError",
    "LabelError",
    "LensboxError",
    "MissingExtraError",
    "ModelManifest",
    "ModelPackage",
    "MusicError",
    "PackageError",
    "Result",
    "RewardError",
    "SchemaError",
    "SourceError",
    "TrainError",
    "UploadTooLarge",
    "__version__",
    "load_package",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from lensbox.runtime.engine import Engine

        return Engine
    raise AttributeError(f"module 'lensbox' has no attribute {name!r}")
