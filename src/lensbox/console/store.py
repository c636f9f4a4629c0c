"""Content-addressed artefact store: every blob is named by its sha256 and written atomically,
so an interrupted upload leaves nothing half-written and nothing is ever stored twice."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from lensbox.errors import UploadTooLarge


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        # Parts left by a crash mid-upload were never acknowledged: drop them.
        for part in (root / "tmp").glob("*.part"):
            part.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_stream(self, stream: BinaryIO, limit: int) -> tuple[str, int, Path]:
        """Copy ``stream`` in (hashing as it goes); refuse past ``limit`` bytes."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(1 << 20):
                    size += len(block)
                    if size > limit:
                        raise UploadTooLarge(f"upload is over the {limit} byte limit")
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return sha, size, final
        finally:
            Path(tmp).unlink(missing_ok=True)
