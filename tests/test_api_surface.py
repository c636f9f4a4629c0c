"""A snapshot of the public API: changing it must be a deliberate edit of this list."""

import importlib
import pkgutil
import re
import tomllib
from pathlib import Path

import lensbox
from lensbox import errors

EXPECTED = [
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


def test_public_api_is_the_curated_list() -> None:
    assert sorted(lensbox.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(lensbox, name), name


def _all_error_classes() -> set[type]:
    """Every LensboxError subclass defined anywhere in the package (all modules imported)."""
    for module in pkgutil.walk_packages(lensbox.__path__, "lensbox."):
        skip = (".templates", "migrations.env", "__main__")
        if not any(part in module.name for part in skip):
            importlib.import_module(module.name)
    found: set[type] = set()
    pending = [errors.LensboxError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(c for c in cls.__subclasses__() if c.__module__.startswith("lensbox"))
    return found


def test_every_error_is_exported_and_drawn_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    for cls in _all_error_classes():
        assert cls.__name__ in lensbox.__all__, cls
        assert re.search(rf"[─└├] {cls.__name__}\b|^    {cls.__name__}$", tree, re.M), cls


def test_the_version_is_written_once() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    source = Path(errors.__file__).parent
    written = [
        p.name for p in source.rglob("*.py") if re.search(r"^__version__ = ", p.read_text(), re.M)
    ]
    assert written == ["_version.py"]
    assert lensbox.__version__ == importlib.import_module("lensbox._version").__version__
