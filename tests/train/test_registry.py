"""Trainers are found by task name; what differs per task is data on the registered object."""

from __future__ import annotations

from pathlib import Path

import pytest

from lensbox.errors import TrainError
from lensbox.tasks import get_task, task_names
from lensbox.train import get_trainer, trainer_names
from lensbox.train.callbacks import Checkpointer, QuietProgress
from lensbox.train.loop import TrainOptions, resume_from, save_epoch
from tests.helpers import lensbox
from tests.helpers.vision_data import write_activity


def test_every_task_has_a_trainer_whose_flags_come_from_its_options() -> None:
    by_lensbox_train = [n for n in task_names() if get_task(n).trained_by == "lensbox train"]
    assert trainer_names() == by_lensbox_train
    for name in trainer_names():
        trainer = get_trainer(name)
        flags = {flag.name: flag for flag in trainer.flags()}
        assert "epochs" in flags and flags["epochs"].type is int
        assert all(flag.help for flag in flags.values()), name
        assert not {"seed", "device", "resume", "workers"} & set(flags)
        assert trainer.headline


def test_options_are_checked_by_name_and_value() -> None:
    detect = get_trainer("detect")
    assert detect.make_options({"epochs": 2, "split": "all"}).recipe()["split"] == "all"
    with pytest.raises(TrainError, match="--window does not apply to --task detect"):
        detect.make_options({"window": 4})
    with pytest.raises(TrainError, match="--val-fraction must be in"):
        get_trainer("classify").make_options({"val_fraction": 1.5})


def test_cli_reads_task_flags_by_type_and_refuses_resume_where_it_cannot(tmp_path: Path) -> None:
    clips = write_activity(tmp_path / "clips", per_label=2)
    refused = lensbox(
        "train", str(clips), "--task", "activity", "--out", str(tmp_path / "m"), "--resume"
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: --resume does not apply to --task activity: ")
    assert len(refused.stderr.strip().splitlines()) == 1
    bad = lensbox(
        "train", str(clips), "--task", "activity", "--out", str(tmp_path / "m"), "--window=x"
    )
    assert bad.returncode == 1 and "--window 'x': expected int (default 16)" in bad.stderr


def test_resume_refuses_a_checkpoint_of_other_data(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    checkpoints = Checkpointer(tmp_path / "checkpoints")
    options = TrainOptions(resume=True)
    save_epoch(checkpoints, options, "a" * 64, ["x"], 3, model, optimizer, scheduler, [{}] * 3)
    resumed = resume_from(
        checkpoints, options, "a" * 64, model, optimizer, scheduler, QuietProgress()
    )
    assert resumed.start_epoch == 4 and len(resumed.history) == 3
    with pytest.raises(TrainError, match="the dataset changed since this checkpoint"):
        resume_from(checkpoints, options, "b" * 64, model, optimizer, scheduler, QuietProgress())
    with pytest.raises(TrainError, match="another recipe"):
        resume_from(
            checkpoints, TrainOptions(resume=True, seed=1), "a" * 64, model, optimizer, scheduler,
            QuietProgress(),
        )  # fmt: skip


def test_resume_refuses_a_checkpoint_of_another_network_in_one_line(tmp_path: Path) -> None:
    """A checkpoint whose layers differ from what this version builds (an earlier lensbox's)
    is refused by name, not with torch's traceback."""
    torch = pytest.importorskip("torch")
    checkpoints = Checkpointer(tmp_path / "checkpoints")
    options = TrainOptions(resume=True)
    old = torch.nn.Linear(2, 2)
    old_optimizer = torch.optim.SGD(old.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(old_optimizer, 1)
    save_epoch(checkpoints, options, "a" * 64, ["x"], 1, old, old_optimizer, scheduler, [{}])
    grown = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 3))
    optimizer = torch.optim.SGD(grown.parameters(), lr=0.1)
    with pytest.raises(TrainError) as refused:
        resume_from(
            checkpoints, options, "a" * 64, grown, optimizer,
            torch.optim.lr_scheduler.StepLR(optimizer, 1), QuietProgress(),
        )  # fmt: skip
    message = str(refused.value)
    assert message.startswith(f"{checkpoints.last}: checkpoint holds another network")
    assert message.endswith("rerun without --resume") and "\n" not in message
