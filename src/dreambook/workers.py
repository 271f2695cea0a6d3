"""What the stages that use worker processes (reading a big manuscript, laying out the PDF)
need to know about the machine."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence


def usable_cpus() -> int:
    """The number of CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def worker_pool(
    jobs: int, warm_ups: Sequence[Callable[[], None]] = ()
) -> Iterator[concurrent.futures.Executor]:
    """A pool of ``jobs`` spawned worker processes (spawned: forking a threaded process is unsafe).

    Every function of ``warm_ups`` is submitted once per worker at once, so the workers load
    their libraries while the caller does other work. Leaving early (a manuscript error)
    does not wait for the workers to finish that.
    """
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context)
    finished = False
    try:
        for warm_up in warm_ups:
            for _ in range(jobs):
                pool.submit(warm_up)
        yield pool
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)
