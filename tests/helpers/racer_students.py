"""A stand-in for the second camera student's process (``train_students``): it trains nothing,
saves a network filled with a constant, and reports the selection score that the test put in
``SECOND_STUDENT_SCORE`` ("clean,faults"; "fail" raises). Module-level, so a spawned process
can import it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lensbox.racer.train import Student, state_targets

FILL = 0.25  # every weight of the stand-in's network


def scripted_second_student(
    teacher_path: Path,
    track: Any,
    reward_path: Path,
    metadata: Any,
    n_objects: int,
    until: float,
    seed: int,
    save_to: Path,
) -> list[dict[str, Any]]:
    score = os.environ["SECOND_STUDENT_SCORE"]
    if score == "fail":
        raise RuntimeError("the stand-in failed on purpose")
    assert teacher_path.is_file()  # what the real one loads its teacher from
    clean, faults = (int(v) for v in score.split(","))
    student = Student.new(len(metadata.actions), n_state=state_targets(n_objects))
    with torch.no_grad():
        for parameter in student.network.parameters():
            parameter.fill_(FILL)
    torch.save(student.network.state_dict(), save_to)
    return [
        {"stage": "student", "iteration": 3, "selection_clean_laps": 1, "kept": False},
        {
            "stage": "student", "iteration": 4, "seed": seed, "kept": True,
            "selection_clean_laps": clean, "selection_faults": faults,
        },
    ]  # fmt: skip
