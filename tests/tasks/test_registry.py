from __future__ import annotations

import pytest

from lensbox.errors import LensboxError
from lensbox.tasks import Task, get_task, register_task, task_names


def test_every_registered_task_is_complete() -> None:
    assert "classify" in task_names()
    for name in task_names():
        task = get_task(name)
        assert isinstance(task, Task)
        assert task.name == name and task.description


def test_duplicate_name_is_refused_and_unknown_name_lists_known() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_task(get_task("classify"))
    with pytest.raises(LensboxError, match=r"known tasks: .*classify"):
        get_task("nope")
