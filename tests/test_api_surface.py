"""A snapshot of the public API: changing it must be a deliberate edit of this list."""

import lensbox

EXPECTED = [
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


def test_public_api_is_the_curated_list() -> None:
    assert sorted(lensbox.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(lensbox, name), name
