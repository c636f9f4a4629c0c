"""Typed settings, built only by the CLI and the console and passed down (never read at import)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel


class Settings(BaseModel):
    """Where lensbox keeps its caches; ``LENSBOX_HOME`` overrides the default."""

    home: Path
    debug: bool = False

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def composer_cache(self) -> Path:
        """music21's Bach chorales, parsed once (a minute) and kept here."""
        return self.home / "composer"

    @classmethod
    def from_env(cls, debug: bool = False) -> Settings:
        default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lensbox"
        return cls(home=Path(os.environ.get("LENSBOX_HOME", default)), debug=debug)
