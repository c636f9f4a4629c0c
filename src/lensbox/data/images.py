"""Decode any still image a user is likely to have into 8-bit RGB, or say why it cannot be.

Greyscale, CMYK, 16-bit, palette and alpha images and EXIF rotation are normal inputs, not
errors: a dataset of phone photos and scanned PNGs must train without a clean-up pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lensbox.errors import ImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
MIN_SIDE = 32

# A decompression bomb is refused as a bad file instead of exhausting memory.
Image.MAX_IMAGE_PIXELS = 100_000_000


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any PIL mode to HxWx3 uint8 RGB, keeping the full range of 16-bit images."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max(initial=0) > 255 else 255.0
        grey = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels carry arbitrary colour underneath; show them as a white background.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` fully (so truncation is caught here) into an HxWx3 uint8 RGB array."""
    file = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image.load()
                if getattr(image, "n_frames", 1) > 1:
                    image.seek(0)
                oriented = ImageOps.exif_transpose(image)
                return _to_rgb(oriented if oriented is not None else image)
    except FileNotFoundError:
        raise ImageError(f"{file}: file not found") from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{file}: not an image (unrecognised format); remove or replace it"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{file}: image too large (over 100 megapixels); downscale it") from None
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in reason.lower():
            reason = "truncated image data"
        raise ImageError(f"{file}: unreadable image ({reason}); re-export or remove it") from None
    except (ValueError, SyntaxError, MemoryError) as exc:
        raise ImageError(f"{file}: unreadable image ({type(exc).__name__}: {exc})") from None
