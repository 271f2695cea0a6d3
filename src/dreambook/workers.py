"""What the stages that use worker processes (reading a big manuscript, laying out the PDF)
need to know about the machine."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.process
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Result = TypeVar("Result")


def usable_cpus() -> int:
    """The number of CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def may_fork() -> bool:
    """Whether this process may fork helper processes: it runs no other thread (forking a
    process with threads, as the preview's server or a Dask worker has, can leave a lock held
    for ever in the child), it may have children (not a daemonic process), and the system
    forks."""
    return (
        threading.active_count() == 1
        and not multiprocessing.current_process().daemon
        and "fork" in multiprocessing.get_all_start_methods()
    )


def quiet_fork_child(parent: int) -> None:
    """Make a forked helper process (not a spawned one: it inherits this process's signal
    handlers) end quietly with its build: SIGTERM ends it at once, as it would a process
    that installed no handler (the command's own handler raises an exception whose
    traceback would reach the user), and ``die_with_parent`` for the rest."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)


def shared_with_children(
    count: int, run: Callable[[int], Result], children: int = 1
) -> list[Result]:
    """``[run(0), run(1), ..., run(count - 1)]``, the work shared between this process and
    ``children`` processes forked from it (call only where ``may_fork``).

    The children take tasks from the front and this process from the back, each the next
    one as soon as it is done, so the work is shared however long a child takes to start;
    each child sends back what it made in one message when no task is left. Lighter than a
    process pool: no task or result crosses between processes but those of the children,
    and once each. A child that cannot be started, fails or dies leaves the tasks it took
    to this process, so the results, and any exception ``run`` raises, are those of running
    every task here.
    """
    context = multiprocessing.get_context("fork")
    # The next task from the front and the one after the last left from the back.
    bounds = context.RawArray("l", [0, count])
    lock = context.Lock()

    def take(front: bool) -> int | None:
        # A child killed while it holds the lock would hold it for ever: this process
        # waits for it only while every child still runs.
        while not lock.acquire(timeout=0.5):
            if not front and any(child.ended() for child in started):
                raise _ChildLost
        try:
            if bounds[0] >= bounds[1]:
                return None
            if front:
                bounds[0] += 1
                return int(bounds[0] - 1)
            bounds[1] -= 1
            return int(bounds[1])
        finally:
            lock.release()

    parent = os.getpid()
    started: list[_Child] = []
    done: dict[int, Result] = {}
    try:
        for _ in range(children):
            try:
                reading, writing = os.pipe()
                pid = os.fork()
            except OSError as error:
                log.info("no forked child: %s", error)
                break
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                _run_in_child(parent, writing, take, run)
            os.close(writing)
            started.append(_Child(pid, reading))
        while (task := take(False)) is not None:
            done[task] = run(task)
        for child in started:
            done.update(child.results())
    except _ChildLost:
        log.info("a forked child ended before it sent its work: doing it here")
    finally:
        for child in started:
            child.stop()
    return [done[task] if task in done else run(task) for task in range(count)]


class _ChildLost(Exception):
    """A child of ``shared_with_children`` ended while it may have held the tasks' lock."""


class _Child:
    """A child of ``shared_with_children``: its process id until it has been waited for, and
    the read end of its pipe until it has been read."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid: int | None = pid
        self.pipe: int | None = pipe

    def results(self) -> dict[int, Any]:
        """What the child sent, once it has ended; nothing when it failed."""
        assert self.pipe is not None
        with os.fdopen(self.pipe, "rb") as reading:
            self.pipe = None
            message = reading.read()
        if self._wait(0) != 0:
            return {}
        try:
            made: dict[int, Any] = pickle.loads(message)
        except Exception:  # a message cut short: the child died as it wrote
            return {}
        return made

    def ended(self) -> bool:
        """Whether the child has ended (it is waited for then)."""
        return self.pid is None or self._wait(os.WNOHANG) is not None

    def _wait(self, options: int) -> int | None:
        """Wait for the child; its wait status, or None when it still runs (WNOHANG)."""
        assert self.pid is not None
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:
            pid, status = self.pid, -1
        if pid == 0:
            return None
        self.pid = None  # waited for: the number may now be another process's
        return status

    def stop(self) -> None:
        """Close the pipe and kill the child, unless done already (the work failed or was
        stopped: no child outlives it)."""
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._wait(0)


def _run_in_child(
    parent: int, writing: int, take: Callable[[bool], int | None], run: Callable[[int], object]
) -> None:
    """The child of ``shared_with_children``: run tasks from the front, send the results,
    end without running anything of its parent's (no exit handlers, no flushed buffers)."""
    try:
        quiet_fork_child(parent)
        made = {}
        while (task := take(True)) is not None:
            made[task] = run(task)
        message = pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(message)
    except BaseException:  # the parent runs these tasks itself and meets the error there
        os._exit(1)
    os._exit(0)


# prctl(2): ask the kernel to send a signal to this process when its parent ends.
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Make this worker end when the build that started it ends, however it ends.

    On Linux the kernel kills the worker (``PR_SET_PDEATHSIG``) when the thread that
    spawned it exits, which is the build's; elsewhere a thread watches for the worker being
    handed to another parent. Ctrl-C reaches every process of the terminal's group: the
    worker ignores it, and the build stops its workers itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                # The build may have died before the request was made: nothing would come.
                if os.getppid() != parent:
                    os._exit(1)
                return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    """End this process once its parent is gone (it is then handed to another process)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _stop(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Kill the worker processes and wait for them: a stopped build's workers must not go
    on writing into its output folder after the build has cleared it."""
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)


@contextlib.contextmanager
def worker_pool(
    jobs: int, warm_ups: Sequence[Callable[[], None]] = ()
) -> Iterator[concurrent.futures.Executor]:
    """A pool of ``jobs`` spawned worker processes (spawned: forking a threaded process is unsafe).

    Every function of ``warm_ups`` is submitted once per worker at once, so the workers load
    their libraries while the caller does other work. Leaving early (a manuscript error, a
    failed layout, Ctrl-C or SIGTERM) kills the workers and waits for them, but not for
    their work. Each worker dies with the thread that made the pool, even when that
    thread's process is killed (SIGKILL), so no worker outlives its build.
    """
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    )
    finished = False
    try:
        for warm_up in warm_ups:
            for _ in range(jobs):
                pool.submit(warm_up)
        yield pool
        finished = True
    finally:
        # Taken before shutdown, which forgets them.
        processes = list((pool._processes or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=finished, cancel_futures=True)
        if not finished:
            _stop(processes)
            # The pool's manager thread sees its workers gone and closes its pipe; waiting
            # for it keeps the interpreter's exit from writing to the pipe as it closes.
            if isinstance(manager, threading.Thread):
                manager.join(timeout=10)
