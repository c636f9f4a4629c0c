"""Console settings, built by the CLI (``lensbox console``) and handed to ``create_app``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel


class ConsoleSettings(BaseModel):
    data: Path
    db_url: str | None = None
    max_upload_bytes: int = 512 << 20
    max_unpacked_bytes: int = 2 << 30
    max_zip_ratio: float = 200.0
    results_per_device: int = 1000
    poll_seconds: float = 10.0
    mqtt: str | None = None

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data / 'console.db').resolve()}"

    @property
    def blobs(self) -> Path:
        return self.data / "blobs"
