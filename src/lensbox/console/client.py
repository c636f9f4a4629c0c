"""A small HTTP client for the console, on the standard library only (a device installs no
more than ``lensbox[runtime]``). Used by the device agent and the client CLI."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from lensbox.errors import ConsoleError


class ConsoleClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type or "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, dict(exc.headers), b""
            detail = exc.read().decode("utf-8", "replace")
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                detail = json.loads(detail).get("detail", detail)
            raise ConsoleError(f"{method} {path}: {exc.code} {detail}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConsoleError(f"console {self.url} unreachable: {reason}") from None

    def json(self, method: str, path: str, body: Any = None) -> Any:
        _, _, payload = self.request(method, path, body)
        return json.loads(payload) if payload else None

    def upload(self, path: str, file: Path, field: str = "file") -> Any:
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{file.name}"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        body = head + file.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        _, _, payload = self.request(
            "POST",
            path,
            raw=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            timeout=300,
        )
        return json.loads(payload)

    def download(self, path: str, target: Path) -> None:
        _, _, payload = self.request("GET", path, timeout=300)
        target.write_bytes(payload)
