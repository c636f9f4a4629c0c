"""The device side never pays for torch: importing the runtime must not load it."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_runtime_tasks_data_and_cli_import_without_torch() -> None:
    loaded = _modules_after(
        "import lensbox, lensbox.runtime, lensbox.tasks, lensbox.data, lensbox.manifest, "
        "lensbox.evaluation, lensbox.cli"
    )
    assert "lensbox.runtime.engine" in loaded
    assert "torch" not in loaded and "torchvision" not in loaded


def test_package_import_has_no_side_effects() -> None:
    loaded = _modules_after("import lensbox")
    assert "torch" not in loaded and "onnxruntime" not in loaded and "cv2" not in loaded
