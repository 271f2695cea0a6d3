"""The local pool's time limit: a task that hangs fails its call with DB115, its worker
process is killed (it would hold a CPU for ever), and the pool goes on with new workers,
as a Dask cluster does (tests/e2e/test_catalogue.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dreambook.errors import BuildError
from dreambook.executors import LocalPool, local_pool

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
