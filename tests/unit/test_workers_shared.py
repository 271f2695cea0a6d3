"""workers.shared_with_children: work shared with forked children gives the results of doing
it all in one process, whatever the children do — fail, die, or never get a task — and an
error in this process's share stops the children and reaches the caller.

Each case runs in a freshly spawned interpreter (conftest.in_fresh_process), where no thread
runs: forking is what the helper does, and a test run's process has threads by then.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from dreambook import workers
from tests.conftest import in_fresh_process


def _square_where(task: int) -> tuple[int, int]:
    time.sleep(0.004)  # long enough for the children to start and take tasks
    return task * task, os.getpid()


def _shared_squares() -> tuple[list[int], int, set[int]]:
    results = workers.shared_with_children(60, _square_where, children=2)
    return [square for square, _ in results], os.getpid(), {pid for _, pid in results}


def test_the_results_are_those_of_one_process_and_the_work_is_shared() -> None:
    squares, parent, processes = in_fresh_process(_shared_squares)
    assert squares == [task * task for task in range(60)]
    assert parent in processes
    assert len(processes) > 1  # at least one child did some of the tasks


def _with_a_failing_child() -> tuple[list[int], int, set[int]]:
    parent = os.getpid()

    def run(task: int) -> tuple[int, int]:
        if os.getpid() != parent and task == 0:
            raise RuntimeError("only a child meets this")
        return _square_where(task)

    results = workers.shared_with_children(40, run, children=1)
    return [square for square, _ in results], parent, {pid for _, pid in results}


def test_the_tasks_of_a_child_that_fails_are_done_here() -> None:
    squares, parent, processes = in_fresh_process(_with_a_failing_child)
    assert squares == [task * task for task in range(40)]
    assert processes == {parent}  # the child's results were all lost and redone here


def _with_a_killed_child() -> list[int]:
    parent = os.getpid()

    def run(task: int) -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.002)
        return task + 1

    return workers.shared_with_children(30, run, children=2)


def test_the_tasks_of_a_killed_child_are_done_here() -> None:
    assert in_fresh_process(_with_a_killed_child) == list(range(1, 31))


def _failing_here() -> str:
    parent = os.getpid()

    def run(task: int) -> int:
        if os.getpid() == parent:
            raise ValueError(f"task {task} failed")
        time.sleep(0.01)
        return task

    try:
        workers.shared_with_children(50, run, children=2)
    except ValueError as error:
        # Every child has been waited for: none is left running.
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return str(error)
        return "a child was left"
    return "no error"


def test_an_error_here_stops_the_children_and_reaches_the_caller() -> None:
    # This process takes tasks from the back: its first is the last one.
    assert in_fresh_process(_failing_here) == "task 49 failed"


def test_no_task_is_run_twice_when_the_children_finish() -> None:
    calls = in_fresh_process(_count_calls)
    assert calls == list(range(25))


def _count_calls() -> list[int]:
    parent = os.getpid()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"shared-calls-{parent}"
    log.write_text("")

    def run(task: int) -> int:
        with log.open("a") as out:
            out.write(f"{task}\n")
        time.sleep(0.003)
        return task

    try:
        workers.shared_with_children(25, run, children=2)
        return sorted(int(line) for line in log.read_text().split())
    finally:
        log.unlink()


@pytest.mark.parametrize("count", [0, 1])
def test_too_little_work_for_a_child(count: int) -> None:
    assert in_fresh_process(_few, count) == list(range(count))


def _few(count: int) -> list[int]:
    return workers.shared_with_children(count, lambda task: task, children=2)
