"""What every command shares: one JSON document on stdout, everything else on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # one line stays one line


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
    """A human line on stderr (stdout stays free for --json)."""
    stderr.print(text, markup=False)


BACKEND_HELP = (
    "Inference engine: onnxruntime or openvino (pip install 'lensbox[openvino]'); "
    "default: the manifest's preferred backend, else onnxruntime."
)
