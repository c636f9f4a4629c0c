"""One hierarchy for every error lensbox raises on purpose.

The CLI prints ``str(error)`` on one line and exits non-zero; anything that is not a
``LensboxError`` is a bug and keeps its traceback (with ``--debug`` always). Every subclass is
defined here, so this tree is the whole list (a test checks it against the classes that exist).

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
    ├── MissingExtraError       an optional dependency (an extra) is not installed
    ├── SourceError             a frame source cannot be opened (bad path, unsupported kind)
    ├── FunctionError           an inference function cannot be loaded or has no ``process``
    ├── RewardError             a reward function does not load, raises or returns no number
    ├── MusicError              a melody or score cannot be used (corrupt, empty, too long)
    ├── AccuracyDropError       an optimized model lost more of its metric than allowed
    ├── ConsoleError            the console answered with an error or could not be reached
    └── UploadTooLarge          an upload to the console is over its size limit
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


class SourceError(LensboxError):
    """A source cannot be opened at all (bad path, unsupported kind)."""


class FunctionError(LensboxError):
    """The inference function file cannot be loaded or has no ``process``."""


class RewardError(LensboxError):
    """A racer reward function cannot be loaded, raises, or returns something not a number;
    the message names the file, the line and the step."""


class MusicError(LensboxError):
    """A melody or a score cannot be used: corrupt, without notes, too long, unknown sample."""


class AccuracyDropError(LensboxError):
    """An optimized model lost more of its held-out metric than allowed; nothing was written."""


class ConsoleError(LensboxError):
    """The console answered with an error, or could not be reached (``status``: its HTTP code)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UploadTooLarge(LensboxError):
    """An upload is over the console's size limit."""
