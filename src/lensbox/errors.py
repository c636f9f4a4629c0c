"""One hierarchy for every error lensbox raises on purpose.

The CLI prints ``str(error)`` on one line and exits non-zero; anything that is not a
``LensboxError`` is a bug and keeps its traceback (with ``--debug`` always).

::

    LensboxError
    ├── DataError               a dataset cannot be used (missing, empty, one class, bad layout)
    │   └── ImageError          one image file cannot be decoded or is unusable
    ├── PackageError            a model package is missing files or is inconsistent
    │   ├── ChecksumError       model.onnx does not match the manifest's sha256
    │   └── SchemaError         manifest.json does not validate against the schema
    ├── TrainError              training cannot start or continue (bad options, resume mismatch)
    ├── ExportError             ONNX export failed or its outputs drift from PyTorch
    ├── LabelError              labels of a dataset and a model cannot be matched
    └── MissingExtraError       an optional dependency (an extra) is not installed
"""

from __future__ import annotations


class LensboxError(Exception):
    """Root of all expected errors: the message is meant for the user, on one line."""


class DataError(LensboxError):
    """A dataset cannot be used as a whole."""


class ImageError(DataError):
    """One image file cannot be decoded or is unusable."""


class PackageError(LensboxError):
    """A model package is missing files or is inconsistent."""


class ChecksumError(PackageError):
    """model.onnx does not match the sha256 recorded in manifest.json."""


class SchemaError(PackageError):
    """manifest.json does not validate against the manifest schema."""


class TrainError(LensboxError):
    """Training cannot start or continue."""


class ExportError(LensboxError):
    """ONNX export failed, or the exported model drifts from PyTorch."""


class LabelError(LensboxError):
    """Class names of a dataset and a model cannot be matched."""


class MissingExtraError(LensboxError):
    """An optional dependency is missing; the message names the extra to install."""
