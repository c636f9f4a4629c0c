"""An object race trains two camera students at once, one per core, and packages the one whose
selection laps were better; the second trains in a process of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")
pytest.importorskip("gymnasium", reason="needs the racer extra")

import torch

from lensbox.racer import train
from lensbox.racer.config import read_model_metadata
from lensbox.racer.reward import RewardFunction
from lensbox.racer.track import load_track
from lensbox.racer.train import OTHER_SEED, Student, kept_selection, state_targets
from lensbox.train.callbacks import QuietProgress
from tests.helpers.racer_students import FILL, scripted_second_student
from tests.helpers.tracks import write_track

FIRST_FILL = 0.75


@pytest.mark.parametrize(
    ("first", "second", "average", "kept"),
    [
        ((3, 2), "5,9", (4, 0), "second"),  # more clean laps wins
        ((3, 2), "3,2", (1, 0), "first"),  # a tie between the students: the first
        ((3, 1), "3,2", (2, 0), "first"),  # same clean laps: fewer faults wins
        ((0, 9), "1,40", (0, 0), "second"),
        ((3, 2), "5,9", (5, 9), "average"),  # a tie with the average: the average
        ((3, 2), "4,0", (6, 12), "average"),
        ((3, 2), "fail", (9, 0), "first"),  # the first stands alone, and says why
    ],
)
def test_the_better_of_two_students_or_their_average_is_kept(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[int, int],
    second: str,
    average: tuple[int, int],
    kept: str,
) -> None:
    monkeypatch.setenv("SECOND_STUDENT_SCORE", second)
    track = load_track(str(write_track(tmp_path / "stadium.npy", straight=3.0, radius=1.5)))
    (tmp_path / "reward.py").write_text("def reward_function(params):\n    return 1.0\n")
    reward = RewardFunction.load(tmp_path / "reward.py")
    metadata = read_model_metadata(None)
    teacher_file = tmp_path / "teacher.zip"
    teacher_file.write_bytes(b"stands in for the saved teacher")
    threads_while_training: list[int] = []
    checkpointed: list[int] = []
    scored: list[Any] = []

    def first_student(*args: Any) -> list[dict[str, Any]]:
        student, after_iteration = args[8], args[9]
        threads_while_training.append(torch.get_num_threads())
        with torch.no_grad():
            for parameter in student.network.parameters():
                parameter.fill_(FIRST_FILL)
        history = [
            {
                "stage": "student", "iteration": 5, "kept": True,
                "selection_clean_laps": first[0], "selection_faults": first[1],
            }
        ]  # fmt: skip
        after_iteration(5, history)
        return history

    def pair_score(network: Any, *_: Any) -> tuple[int, int]:
        scored.append(network)
        return average[0], -average[1]

    monkeypatch.setattr(train, "train_student", first_student)
    monkeypatch.setattr(train, "selection_score", pair_score)
    student = Student.new(len(metadata.actions), n_state=state_targets(3))
    threads = torch.get_num_threads()
    messages: list[str] = []

    class Progress(QuietProgress):
        def message(self, text: str) -> None:
            messages.append(text)

    packaged, history, lines = train.train_students(
        None, teacher_file, track, reward, metadata, 3, 5.0, 11, Progress(), student,
        lambda iteration, _: checkpointed.append(iteration), scripted_second_student,
    )  # fmt: skip

    assert threads_while_training == [1]  # the other core is the second student's
    assert torch.get_num_threads() == threads and checkpointed == [5]
    assert history[0]["iteration"] == 5  # the history of the student trained in this process
    assert not (tmp_path / "student-b.pt").exists()
    if second == "fail":
        assert packaged is student.network and lines == [] and scored == []
        assert any("second student failed" in m and "on purpose" in m for m in messages)
        return
    (pair,) = scored  # the average drove the selection laps, made of both students
    assert pair.first is student.network
    assert all(torch.all(p == FILL) for p in pair.second.parameters())
    with torch.no_grad():  # students that disagree, so that the average shows
        pair.first.head[-1].bias.copy_(torch.linspace(-2.0, 2.0, len(metadata.actions)))
        pair.second.head[-1].bias.copy_(torch.linspace(3.0, -1.0, len(metadata.actions)))
    frames = torch.rand(2, 1, 120, 160)
    probabilities = (
        torch.softmax(pair.first(frames), 1) + torch.softmax(pair.second(frames), 1)
    ) / 2
    assert torch.allclose(torch.softmax(pair(frames), 1), probabilities, atol=1e-6)
    expected = {"first": student.network, "second": pair.second, "average": pair}[kept]
    assert packaged is expected
    names = ["average", "seed", f"seed+{OTHER_SEED}"]
    assert [line["student"] for line in lines] == names
    assert [line["kept"] for line in lines] == [
        kept == "average",
        kept == "first",
        kept == "second",
    ]
    assert [(line["selection_clean_laps"], line["selection_faults"]) for line in lines] == [
        average, first, tuple(int(v) for v in second.split(","))
    ]  # fmt: skip


def test_a_student_without_a_selection_ranks_below_any_that_had_one() -> None:
    assert kept_selection([{"stage": "student", "iteration": 2}]) == (-1, 0)
    assert kept_selection([{"kept": True, "selection_clean_laps": 0, "selection_faults": 50}]) == (
        0,
        -50,
    )
