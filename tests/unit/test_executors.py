"""The local pool's time limit: a task that hangs fails its call with DB115, its worker
process is killed (it would hold a CPU for ever), and the pool goes on with new workers,
as a Dask cluster does (tests/e2e/test_catalogue.py)."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from pathlib import Path

import pytest

from dreambook.errors import BuildError
from dreambook.executors import LocalPool, _Queue, local_pool

pytestmark = pytest.mark.slow  # it spawns worker processes


def _hang(marker: str) -> int:
    """Record this worker's process id in ``marker``, then wait for ever."""
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    threading.Event().wait()
    return 0


def _double(number: int) -> int:
    return number * 2


def _alive(pid: int) -> bool:
    """Whether the process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hung_task_on_the_local_pool_fails_with_db115_and_the_pool_goes_on(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "hung"
    with local_pool(2, timeout=1.0) as pool:
        assert isinstance(pool, LocalPool)
        with pytest.raises(BuildError) as raised:
            list(pool.map(_hang, [str(marker)]))
        assert [d.code for d in raised.value.diagnostics] == ["DB115"]
        assert "local worker process" in raised.value.diagnostics[0].message
        assert not _alive(int(marker.read_text(encoding="utf-8")))
        # New workers took the killed ones' place.
        assert list(pool.map(_double, [1, 2, 3])) == [2, 4, 6]


def test_a_task_waiting_behind_busy_workers_is_not_counted_as_running() -> None:
    """The process pool marks a queued task "running" early; the time limit counts from
    when a worker can have taken it: after n - jobs + 1 earlier tasks ended."""
    queue = _Queue(jobs=2)
    futures: list[concurrent.futures.Future[int]] = [concurrent.futures.Future() for _ in range(5)]
    for future in futures:
        queue.add(future)
    assert _Queue.started(futures[0]) is not None
    assert _Queue.started(futures[1]) is not None
    assert _Queue.started(futures[2]) is None  # both workers are busy
    assert _Queue.started(futures[3]) is None
    futures[4].cancel()  # a task submitted later frees no worker for the earlier ones
    assert _Queue.started(futures[2]) is None
    before = time.monotonic()
    futures[1].set_result(1)
    started = _Queue.started(futures[2])
    assert started is not None
    assert started >= before
    assert _Queue.started(futures[3]) is None
    futures[0].cancel()  # never runs: the next task takes its place
    assert _Queue.started(futures[3]) is not None
    assert _Queue.started(concurrent.futures.Future()) is None  # not from a pool


def test_a_book_whose_task_waits_behind_a_hung_one_is_not_failed(tmp_path: Path) -> None:
    """Both workers hung, and another call's task queued behind them: that call waits (its
    task has not started, whatever the pool says) and runs it on the new workers once the
    hung tasks' call fails with DB115, although it started waiting first."""
    marker = tmp_path / "hung"
    with local_pool(2, timeout=3.0) as pool:
        generation, hung = pool._submit(_hang, [str(marker), str(marker)])
        outcome: list[object] = []

        def wait_for_another_book() -> None:
            try:
                outcome.extend(pool.map(_double, [21]))
            except BuildError as error:
                outcome.append(error)

        other = threading.Thread(target=wait_for_another_book)
        other.start()
        time.sleep(1.0)  # the other call's time limit would now end first
        with pytest.raises(BuildError) as raised:
            pool._result(hung[0], generation)
        other.join(timeout=60)
        assert [d.code for d in raised.value.diagnostics] == ["DB115"]
        assert outcome == [42]
