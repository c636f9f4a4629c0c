"""lensbox: local-first computer vision, from labelled images to a device with two live streams.

The public API is curated here; importing it loads neither torch nor onnxruntime nor OpenCV.
"""

from lensbox.errors import (
    ChecksumError,
    DataError,
    ImageError,
    LensboxError,
    PackageError,
    SchemaError,
)
from lensbox.manifest import ModelManifest, ModelPackage, load_package
from lensbox.results import Frame, Result

__version__ = "0.1.0"

__all__ = [
    "ChecksumError",
    "DataError",
    "Frame",
    "ImageError",
    "LensboxError",
    "ModelManifest",
    "ModelPackage",
    "PackageError",
    "Result",
    "SchemaError",
    "__version__",
    "load_package",
]
