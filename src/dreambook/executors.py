"""Where parallel work runs: the seam between the stages that hand out work and the engines
that do it.

An :class:`Executor` runs one picklable function over a list of picklable tasks and returns
what each returned (plain data and bytes), in order. Two engines implement it:

- :class:`LocalPool`, spawned worker processes on this machine (what ``build`` uses);
- :class:`DaskExecutor`, the workers of a Dask distributed cluster (``--scheduler``), which
  may run on other machines with no file system shared with the build: ``shares_files`` is
  False, so the callers give each task the bytes of what it reads, and write every output
  themselves.

Dask is an optional extra (``pip install dreambook[cluster]``); it is imported only when a
scheduler is asked for, and its absence is a usage error naming the extra.
"""

from __future__ import annotations

import array
import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError, UsageError
from dreambook.workers import usable_cpus, worker_pool

log = logging.getLogger(__name__)

Task = TypeVar("Task")
Result = TypeVar("Result")

# How long one task may run before its book fails (DB115): the longest chunk of the benchmark
# book takes a few seconds; a task still running after ten minutes has hung.
DEFAULT_TASK_TIMEOUT = 600.0
# How often a call sends its inputs again after the cluster lost them (DaskExecutor).
MAX_INPUT_RESENDS = 3

CLUSTER_EXTRA = "pip install 'dreambook[cluster]'"

# Dask settings for a LocalCluster started by --scheduler local (the defaults suit a
# cluster of many machines, where a few percent of a core per process is nothing): the
# profiler samples each worker's stack every 10 ms, and the event loops wake every 20 ms.
LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
}


class Executor(Protocol):
    """Runs picklable tasks on workers and returns their results."""

    @property
    def workers(self) -> int:
        """How many tasks can run at once."""
        ...

    @property
    def shares_files(self) -> bool:
        """Whether the workers read this machine's file system (else each task must carry
        what it reads, and return what it makes)."""
        ...

    @property
    def chunk_store(self) -> Path | None:
        """The folder of laid-out chunks shared by every build on this executor (a
        catalogue's, chunks.ChunkCache), or None: each build keeps its own."""
        ...

    @property
    def runs_stages(self) -> bool:
        """Whether a build sends its whole stages to the workers, not only the PDF's chunk
        layouts: the check and render (to workers that share its files), the merge of the
        chunks, and the writers that lay out nothing in parallel (tasks.py). True for a
        catalogue's executor and a Dask cluster, where the command's process should only
        hand out work; False for the pool a single build starts for its chunks."""
        ...

    def map(
        self,
        function: Callable[..., Result],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Result]:
        """Yield ``function(task, **shared)`` for each task, in order, computed on the
        workers; each result as soon as it and those before it are done, so the caller
        writes it while later tasks run.

        ``shared`` holds large inputs common to every task: an engine sends each to its
        workers once, not once per task. Raises (while iterating) what a task raised, and
        BuildError (DB115, DB116) when a task ran past the time limit or kept killing its
        workers. Leaving the iteration early gives the remaining tasks up.
        """
        ...


class LocalPool:
    """An Executor over a pool of worker processes on this machine.

    Safe to share between threads (a catalogue keeps several books in flight). A task
    running past ``timeout`` seconds fails its call with DB115, as on Dask: the pool's
    workers are killed (the hung one would hold its CPU for ever) and a new pool takes their
    place; the calls of other threads whose tasks died with them submit their unfinished
    tasks again, so only the book whose task hung fails.
    """

    def __init__(
        self,
        jobs: int,
        warm_ups: Sequence[Callable[[], None]] = (),
        timeout: float = DEFAULT_TASK_TIMEOUT,
        *,
        runs_stages: bool = False,
    ) -> None:
        self.jobs = jobs
        self.timeout = timeout
        self._runs_stages = runs_stages
        self.warm_ups = tuple(warm_ups)
        self._lock = threading.Lock()
        # Every pool is made on this one thread: a worker dies with the thread that spawned
        # it (workers.die_with_parent), and a book's thread ends before the catalogue does.
        self._owner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pool-owner")
        self._generation = 0
        self._queue = _Queue(jobs)
        self._context: contextlib.AbstractContextManager[concurrent.futures.Executor] | None
        self._context, self.pool = self._owner.submit(self._start).result()

    def _start(
        self,
    ) -> tuple[contextlib.AbstractContextManager[concurrent.futures.Executor], Any]:
        """A new worker_pool, entered (on the owner thread), with every worker spawned."""
        context = worker_pool(self.jobs, self.warm_ups or (_ready,))
        return context, context.__enter__()

    def _stop_pool(self, context: contextlib.AbstractContextManager[Any] | None) -> None:
        """Leave ``context`` as a failed build does: kill its workers (not waiting for them)."""
        if context is not None:
            error = RuntimeError("a task hung")
            context.__exit__(type(error), error, None)

    @property
    def workers(self) -> int:
        """The pool's size."""
        return self.jobs

    @property
    def shares_files(self) -> bool:
        """True: the workers run on this machine."""
        return True

    @property
    def chunk_store(self) -> Path | None:
        """None: each build keeps its own chunks (a catalogue wraps the pool to share them)."""
        return None

    @property
    def runs_stages(self) -> bool:
        """As made: True for a catalogue's pool, False for a single build's."""
        return self._runs_stages

    def map(
        self,
        function: Callable[..., Result],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Result]:
        """Run the tasks on the pool (the shared inputs go with each task: no network)."""
        call = functools.partial(function, **shared) if shared else function
        return self._results(call, list(tasks))

    def _submit(self, call: Callable[..., Any], tasks: Sequence[Any]) -> tuple[int, list[Any]]:
        with self._lock:
            futures = [self.pool.submit(call, task) for task in tasks]
            for future in futures:
                self._queue.add(future)
            return self._generation, futures

    def _results(self, call: Callable[..., Any], tasks: list[Any]) -> Iterator[Any]:
        generation, futures = self._submit(call, tasks) if tasks else (0, [])
        done = 0
        try:
            while done < len(tasks):
                try:
                    result = self._result(futures[done], generation)
                except (
                    concurrent.futures.process.BrokenProcessPool,
                    concurrent.futures.CancelledError,
                ):
                    if generation == self._generation:
                        raise  # a worker crashed on its own: not a restart of ours
                    # Another call's task hung and its pool was replaced (our tasks died
                    # with its workers, or were cancelled before they ran): run them again.
                    generation, futures[done:] = self._submit(call, tasks[done:])
                    continue
                done += 1
                yield result
        finally:
            for future in futures[done:]:
                future.cancel()

    def _result(self, future: concurrent.futures.Future[Any], generation: int) -> Any:
        """The task's result; past the time limit (counted while it runs, not while it
        waits for a worker), the pool is replaced and BuildError DB115 raised."""
        wait = self.timeout
        while True:
            try:
                return future.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                started = _Queue.started(future)
                if started is None:
                    wait = self.timeout  # still queued behind other tasks: not hung
                    continue
                ran = time.monotonic() - started
                if ran < self.timeout:
                    wait = self.timeout - ran
                    continue
                break
        self._replace(generation)
        raise BuildError([_timed_out(self.timeout, "on a local worker process")])

    def _replace(self, generation: int) -> None:
        """Kill the pool of ``generation`` (when still current) and start another."""
        with self._lock:
            if generation != self._generation:
                return  # another thread replaced it already
            log.warning("a task ran past %g s: restarting the worker processes", self.timeout)
            self._generation += 1
            self._queue = _Queue(self.jobs)
            old = self._context
            self._context, self.pool = self._owner.submit(self._start).result()
        self._owner.submit(self._stop_pool, old).result()

    def close(self, failed: bool) -> None:
        """Stop the workers: waiting for them when the work ``failed`` not, else killing them."""
        context, self._context = self._context, None
        try:
            if context is not None:
                if failed:
                    self._owner.submit(self._stop_pool, context).result()
                else:
                    self._owner.submit(context.__exit__, None, None, None).result()
        finally:
            self._owner.shutdown(wait=True)


class _Queue:
    """When each task of one process pool started, told from the order of submission.

    A process pool marks a future "running" as soon as it moves it to the queue its workers
    read from, one more than there are workers, so a task waiting behind a hung one looked
    hung too and its book failed with DB115. The workers take tasks in the order they were
    submitted: the task submitted n-th (from 0) starts when n - jobs + 1 of the tasks
    submitted before it have ended (a cancelled task counts as ended: no worker takes it).
    The pool's own warm-up tasks come first and are not counted, so a start may be seen a
    little early.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.submitted = 0
        # The tasks that ended, in the order they ended (appended by the pool's thread):
        # their places in the order of submission, and when.
        self.ended: array.array[int] = array.array("q")
        self.ended_at: array.array[float] = array.array("d")

    def add(self, future: concurrent.futures.Future[Any]) -> None:
        """Note ``future`` (submitted now, after every future added before it)."""
        position = self.submitted
        future.dreambook_queued = (self, position, time.monotonic())  # type: ignore[attr-defined]
        self.submitted += 1
        future.add_done_callback(functools.partial(self._ended, position))

    def _ended(self, position: int, _future: concurrent.futures.Future[Any]) -> None:
        self.ended_at.append(time.monotonic())  # first: a reader goes by len(self.ended)
        self.ended.append(position)

    @staticmethod
    def started(future: concurrent.futures.Future[Any]) -> float | None:
        """The monotonic time ``future``'s task started (on the pool it was submitted to),
        or None while it waits for a worker."""
        queued: tuple[_Queue, int, float] | None = getattr(future, "dreambook_queued", None)
        if queued is None:
            return None
        queue, position, submitted = queued
        before = position - queue.jobs + 1  # earlier tasks that must end to free a worker
        if before <= 0:
            return submitted
        for index in range(len(queue.ended)):
            if queue.ended[index] < position:
                before -= 1
                if before == 0:
                    return max(submitted, queue.ended_at[index])
        return None


def _ready() -> None:
    """A task that does nothing: submitted once per worker so that all are spawned now."""


def _timed_out(timeout: float, where: str) -> Diagnostic:
    return diagnostic(
        "DB115",
        f"a layout task ran for more than {timeout:g} s {where} and was stopped",
        hint="a task that long has hung: look at the worker's log; the other "
        "books of a catalogue go on",
    )


@contextlib.contextmanager
def local_pool(
    jobs: int,
    warm_ups: Sequence[Callable[[], None]] = (),
    timeout: float = DEFAULT_TASK_TIMEOUT,
    *,
    runs_stages: bool = False,
) -> Iterator[LocalPool]:
    """A LocalPool of ``jobs`` spawned worker processes, stopped on leaving (see
    workers.worker_pool: an early exit kills the workers)."""
    pool = LocalPool(jobs, warm_ups, timeout, runs_stages=runs_stages)
    failed = True
    try:
        yield pool
        failed = False
    finally:
        pool.close(failed)


class DaskExecutor:
    """An Executor over a Dask distributed client.

    Tasks are submitted as impure (a chunk's task runs whenever it is asked for; the build's
    chunk cache decides what needs laying out). When a worker dies mid-task, the scheduler
    runs its tasks again on another worker: a task returns bytes and writes nothing, so a
    rerun leaves no trace. A task running past ``timeout`` seconds fails the call with DB115;
    a task that killed the workers it ran on more than the scheduler allows fails it with
    DB116. ``shared`` inputs that have a ``digest`` attribute (fsutil.FileBundle) are
    scattered to the cluster once per digest and kept there while the executor lives, so a
    catalogue's common styles folder travels once.
    """

    def __init__(
        self, client: Any, timeout: float = DEFAULT_TASK_TIMEOUT, *, local: bool = False
    ) -> None:
        # A distributed.Client; Any, so that type-checking dreambook does not need Dask.
        self.client = client
        self.timeout = timeout
        # A LocalCluster this command started: its workers read this machine's files.
        self.local = local
        self._scattered: dict[str, Any] = {}

    @property
    def workers(self) -> int:
        """The threads of the cluster's workers (at least 1)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    @property
    def shares_files(self) -> bool:
        """False (a worker may be another machine), unless the cluster is a LocalCluster
        started for this command: then the tasks read the files as the local pool's do, and
        no bundle of the books' folders is made, sent and kept in every worker."""
        return self.local

    @property
    def chunk_store(self) -> Path | None:
        """None: each build keeps its own chunks (a catalogue wraps the executor to share
        them)."""
        return None

    @property
    def runs_stages(self) -> bool:
        """True: the cluster takes whole stages, the command hands out work."""
        return True

    def _share(self, value: object) -> object:
        """``value`` as the workers will get it: a future of its scattered copy for large
        content-addressed inputs (and for sequences of them), else the value itself."""
        if isinstance(value, list | tuple):
            return [self._share(item) for item in value]
        digest = getattr(value, "digest", None)
        if not isinstance(digest, str):
            return value
        if digest not in self._scattered:
            # On one worker; the others fetch it from there once and keep it while its tasks
            # run. Not broadcast: Dask's replication keeps trying, for ever, a worker that
            # died while it copied (its list of workers is taken once), so a worker killed
            # mid-build hung the whole catalogue. Inputs lost with the worker holding them are
            # sent again (_results).
            self._scattered[digest] = self.client.scatter(value, hash=False)
        return self._scattered[digest]

    def _submit(
        self, function: Callable[..., Any], tasks: Sequence[Any], shared: Mapping[str, object]
    ) -> list[Any]:
        """Submit the tasks; return their futures (the tests' hook to kill a worker while
        the tasks run)."""
        kwargs = {name: self._share(value) for name, value in shared.items()}
        futures: list[Any] = self.client.map(function, list(tasks), pure=False, **kwargs)
        return futures

    def map(
        self,
        function: Callable[..., Result],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Result]:
        """Run the tasks on the cluster and yield their results in order.

        When the shared inputs were lost (every worker holding them died), they are sent
        again and the tasks not yet done run once more.
        """
        return self._results(function, list(tasks), shared or {})

    def _results(
        self, function: Callable[..., Result], tasks: list[Any], shared: Mapping[str, object]
    ) -> Iterator[Result]:
        # Imported here: only a cluster's tasks end with asyncio's CancelledError, and the
        # cluster's own imports (distributed) take asyncio in anyway; every other build
        # is spared its import.
        import asyncio

        futures = self._submit(function, tasks, shared) if tasks else []
        done, resent = 0, 0
        try:
            while done < len(tasks):
                try:
                    result: Result = self._result(futures[done])
                except (concurrent.futures.CancelledError, asyncio.CancelledError) as error:
                    if resent == MAX_INPUT_RESENDS:
                        raise BuildError([_inputs_lost(resent)]) from None
                    log.warning(
                        "the cluster lost the tasks' inputs (%r); sending them again", error
                    )
                    resent += 1
                    self._scattered.clear()
                    futures[done:] = self._submit(function, tasks[done:], shared)
                    continue
                done += 1
                yield result
        finally:
            if done < len(tasks):
                self.client.cancel(futures[done:])

    def _result(self, future: Any) -> Any:
        """The result of one task; raises BuildError DB115 past the time limit, DB116 when
        the task was lost with every worker that ran it."""
        distributed = _import_distributed()
        try:
            return future.result(timeout=self.timeout)
        except TimeoutError:  # what a Dask future raises past its timeout
            raise BuildError([_timed_out(self.timeout, "on the cluster")]) from None
        except distributed.KilledWorker as error:
            raise BuildError(
                [
                    diagnostic(
                        "DB116",
                        f"a layout task was lost with every worker that ran it ({error})",
                        hint="a task that kills its worker again and again is a crash in "
                        "the layout engine: report it with the manuscript",
                    )
                ]
            ) from None

    def close(self) -> None:
        """Release the scattered inputs (the cluster is the caller's to close)."""
        self._scattered.clear()


def _inputs_lost(times: int) -> Diagnostic:
    return diagnostic(
        "DB116",
        f"the cluster lost the layout tasks' inputs {times + 1} times (every worker holding "
        "them died)",
        hint="workers that keep dying are short of memory or being stopped: look at the "
        "workers' logs; the other books of a catalogue go on",
    )


def _import_distributed() -> Any:
    """The ``distributed`` module; raises UsageError naming the extra when it is missing."""
    try:
        import distributed
    except ImportError as error:
        raise UsageError(
            f"--scheduler needs Dask distributed, which is not installed ({error}); "
            f"install the cluster extra: {CLUSTER_EXTRA}"
        ) from None
    return distributed


def check_scheduler(scheduler: str) -> None:
    """Raise UsageError when ``scheduler`` cannot be used here: Dask distributed is not
    installed (naming the extra), or the address is neither ``local`` nor a Dask address."""
    _import_distributed()
    if scheduler != "local" and "://" not in scheduler:
        raise UsageError(
            f"--scheduler {scheduler!r} is neither 'local' nor a scheduler address such as "
            "tcp://HOST:8786"
        )


@contextlib.contextmanager
def dask_executor(
    scheduler: str, *, workers: int | None = None, timeout: float = DEFAULT_TASK_TIMEOUT
) -> Iterator[DaskExecutor]:
    """A DaskExecutor connected to ``scheduler``: ``"local"`` starts a LocalCluster of
    ``workers`` single-threaded processes (default: one per usable CPU) for the block, any
    other value is the address of a running scheduler (``tcp://HOST:8786``, ``tls://...``).

    Raises UsageError when Dask distributed is not installed or the address is not one, and
    OSError (from Dask) when the scheduler cannot be reached.
    """
    check_scheduler(scheduler)
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            import dask.config

            # The cluster's own housekeeping competes with the layouts for this machine's
            # CPUs: no sampling profiler in the workers, and the event-loop and system
            # monitors wake less often (the workers take this configuration with them).
            stack.enter_context(dask.config.set(LOCAL_CLUSTER_CONFIG))
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers or usable_cpus(),
                    threads_per_worker=1,
                    processes=True,
                    # Dask's HTTP server (health, dashboard): this machine only, any free port.
                    dashboard_address="127.0.0.1:0",
                    # Only this machine may reach a cluster started for one command.
                    host="127.0.0.1",
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            client = stack.enter_context(distributed.Client(scheduler))
        executor = DaskExecutor(client, timeout, local=scheduler == "local")
        try:
            yield executor
        finally:
            executor.close()


class InProcess:
    """An Executor that runs every task in this process, one after another.

    For a book whose PDF has no parallel work (it fits one chunk of chapters): starting
    worker processes would cost more than the layout. The tasks are the very functions a
    pool's workers run, so the output is byte-identical to a pool's.
    """

    @property
    def workers(self) -> int:
        """One: this process."""
        return 1

    @property
    def shares_files(self) -> bool:
        """True: the tasks run in the build's own process."""
        return True

    @property
    def chunk_store(self) -> Path | None:
        """None: the build keeps its own chunks."""
        return None

    @property
    def runs_stages(self) -> bool:
        """False: there are no workers to send stages to."""
        return False

    def map(
        self,
        function: Callable[..., Result],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Result]:
        """Run each task when its result is asked for."""
        return (function(task, **(shared or {})) for task in tasks)
