"""Background work of the console (training, league time trials) as child processes.

Heavy work runs in its own ``python -m lensbox ...`` process, so the console keeps answering
while it runs, and a crash there is one failed job, not a dead console. A thread per job waits
for the process and hands its exit code and stdout to the caller's ``on_exit``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


def spawn(args: list[str], log: Path, on_exit: Callable[[int, bytes], None], name: str) -> int:
    """Start ``python -m lensbox ARGS`` with stderr to ``log``; returns the process id."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "lensbox", *args], stdout=subprocess.PIPE, stderr=handle
        )

    def wait() -> None:
        stdout, _ = process.communicate()
        on_exit(process.returncode, stdout or b"")

    threading.Thread(target=wait, name=name, daemon=True).start()
    return process.pid


def failure_line(log: Path, returncode: int) -> str:
    """The process's own one-line error (the CLI's ``error: ...``), else its exit code."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    return errors[-1] if errors else f"exit code {returncode}"


def fail_orphaned(sessions: Any, table: Any, what: str) -> None:
    """Rows of ``table`` left 'running' by a console that stopped cannot report back: their
    processes died with it (or finish unheard), so they are marked failed at start."""
    from sqlalchemy import select

    from lensbox.console.db import now

    with sessions() as session:
        for row in session.scalars(select(table).where(table.status == "running")):
            row.status, row.message, row.updated_at = (
                "failed",
                f"console restarted during {what}",
                now(),
            )
        session.commit()
