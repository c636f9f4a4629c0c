from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensbox.data.images import load_rgb
from lensbox.errors import ImageError


def test_greyscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((40, 50), 77, np.uint8), "L").save(path)
    rgb = load_rgb(path)
    assert rgb.shape == (40, 50, 3) and rgb.dtype == np.uint8
    assert (rgb == 77).all()


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (48, 40), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    rgb = load_rgb(path)
    assert rgb.shape == (40, 48, 3)
    red, green, blue = rgb.reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_png_keeps_its_range(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    ramp = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    rgb = load_rgb(path)
    # A naive convert("RGB") saturates almost everything at 255; the full ramp must survive.
    assert rgb[..., 0].min() == 0 and rgb[..., 0].max() == 255
    assert 100 < rgb[..., 0].mean() < 155


def test_palette_with_transparency_and_alpha_composite_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert (load_rgb(path) == 255).all()
    palette = Image.fromarray(rgba, "RGBA").convert("P")
    palette.info["transparency"] = 0
    ppath = tmp_path / "palette.png"
    palette.save(ppath, transparency=0)
    assert load_rgb(ppath).shape == (40, 40, 3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (60, 30), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes())
    assert load_rgb(path).shape == (60, 30, 3)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"hello, I am text\n", "not an image"), (b"", "not an image")],
)
def test_non_images_get_a_clear_error(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "fake.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=fragment) as info:
        load_rgb(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_jpeg_is_reported_as_unreadable(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buffer, format="JPEG"
    )
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[:600])
    with pytest.raises(ImageError, match="unreadable"):
        load_rgb(path)
