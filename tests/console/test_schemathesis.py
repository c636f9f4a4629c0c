"""schemathesis against the console's own OpenAPI spec: no 5xx, no response that breaks the
schema, for generated valid and invalid requests (in-process, over ASGI)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs the dev extra")
from hypothesis import HealthCheck, settings  # noqa: E402

from lensbox.console.app import create_app  # noqa: E402
from lensbox.console.settings import ConsoleSettings  # noqa: E402

APP = create_app(
    ConsoleSettings(
        data=Path(tempfile.mkdtemp(prefix="lensbox-schemathesis-")), max_upload_bytes=1 << 20
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_console_api_conforms(case) -> None:  # type: ignore[no-untyped-def]
    excluded = []
    uploads = ("/api/v1/models", "/api/v1/datasets", "/api/v1/compositions")
    if case.operation.path in uploads and case.method == "POST":
        # Any bytes fit the schema's binary file; only a real zip of the right kind (or a real
        # MIDI file, or a sample that exists) is accepted.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {APP.state.new_admin_key}"}, excluded_checks=excluded
    )
