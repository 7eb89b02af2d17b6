"""An ordered map over forked worker processes, for the CPU-bound stages of an import.

Python runs one thread of Python at a time, and parsing and validating a million records
is Python work, as is sorting and cash-applying a big first load's customer ranges; on a
2-core machine two workers do it while the main process keeps the single database
connection busy. Workers are forked, so what they need
(validators, customer tables, settings) is inherited rather than pickled; only tasks and
results cross the pipe, and results come back in task order so the outcome does not
depend on the number of workers. With fewer than two cores the map runs in-process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from arcli.errors import WorkerDied

WORKERS = 2
_job: Any = None


def job() -> Any:
    """In a worker (or the in-process fallback): the shared state the map was given."""
    return _job


def worker_count() -> int:
    """Workers actually useful here: never more than the machine's cores."""
    return max(1, min(WORKERS, os.cpu_count() or 1))


def worker_started(parent: int) -> None:
    """First thing in a worker process: leave stopping to the parent (pid ``parent``).

    Ctrl-C reaches every process of the command; a worker that took it would print its
    own traceback and die under a running task, so workers ignore it and the parent
    stops them and reports the interrupt once. SIGTERM gets its default back (the
    parent's handler turns it into a clean stop, which is the parent's to make). And a
    worker dies with its parent: one killed outright (SIGKILL, the out-of-memory killer)
    would otherwise leave its workers waiting for tasks for ever, since they hold both
    ends of the task pipe themselves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before that took effect
            os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@contextlib.contextmanager
def deaths_reported(what_now: str) -> Iterator[None]:
    """Turn a worker that died (``BrokenProcessPool``) into :class:`WorkerDied`, whose
    message ends with ``what_now``: what the user has and should do."""
    try:
        yield
    except BrokenProcessPool:
        raise WorkerDied("a worker process ended abruptly (killed by the system, by its "
                         f"out-of-memory killer for instance): {what_now}") from None


def ordered_map(func: Callable[[Any], Any], tasks: Iterable, shared: Any) -> Iterator:
    """``func`` over ``tasks`` in worker processes that see ``shared`` through :func:`job`.

    Tasks are drawn from ``tasks`` in the calling thread (they may come from a database
    cursor, which must stay in its thread) and at most a few are in flight at once, so
    memory stays bounded however long the input. Close the iterator when stopping early
    (``contextlib.closing``): tasks not yet started are dropped, and the workers stop
    once the ones running have finished.

    A ``ProcessPoolExecutor``, not a ``multiprocessing.Pool``: stopping a pool early
    (Ctrl-C) terminates its workers, and one killed while it wrote a result -- these are
    big -- leaves the result queue's lock taken, so the pool's own shutdown then waits
    for ever (seen in about one interrupted import in six under load).
    """
    global _job
    _job = shared
    try:
        if worker_count() < 2:
            yield from map(func, tasks)
            return
        window = 2 * worker_count() + 1
        with deaths_reported("nothing was imported; run the import again"), \
                ProcessPoolExecutor(worker_count(), mp_context=multiprocessing.get_context("fork"),
                                    initializer=worker_started,
                                    initargs=(os.getpid(),)) as pool:
            pending: deque = deque()
            try:
                for task in tasks:
                    pending.append(pool.submit(func, task))
                    if len(pending) >= window:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
    finally:
        _job = None
