"""An ordered map over forked worker processes, for the CPU-bound stages of an import and
the document batches.

Python runs one thread of Python at a time, and parsing and validating a million records
is Python work, as is sorting and cash-applying a big first load's customer ranges or
rendering a chunk of statements; on a 2-core machine two workers do it while the main
process keeps the single database connection busy. Workers are forked, so what they need
(validators, customer tables, settings, templates) is inherited rather than pickled; only
tasks and results cross the pipes, and results come back in task order so the outcome
does not depend on the number of workers. With fewer than two workers the map runs
in-process.

Each worker has a pipe of its own for tasks and one for results, instead of the queues
``multiprocessing.Pool`` and ``ProcessPoolExecutor`` share between workers: with shared
queues, a worker killed while it wrote a result (the out-of-memory killer, Ctrl-C) left
half a message in the pipe or the queue's lock taken, and the whole command waited for
ever (seen in about one such test run in eight). Here a dead worker's result pipe just
ends, and the map stops with :class:`~arcli.errors.WorkerDied`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
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
    would otherwise leave its workers waiting for tasks for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before that took effect
            os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

#: What the import's maps tell the user when a worker dies.
IMPORT_STOPPED = "nothing was imported; run the import again"


def ordered_map(func: Callable[[Any], Any], tasks: Iterable, shared: Any, *,
                workers: int | None = None, setup: Callable[[], None] | None = None,
                if_a_worker_dies: str = IMPORT_STOPPED) -> Iterator:
    """``func`` over ``tasks`` in worker processes that see ``shared`` through :func:`job`.

    ``workers`` defaults to :func:`worker_count`; ``setup()`` runs once in each worker
    (or once in-process). Tasks are drawn from ``tasks`` in the calling thread (they may
    come from a database cursor, which must stay in its thread) and at most a few are in
    flight at once, so memory stays bounded however long the input. An exception raised
    by ``func`` is raised here; a worker that dies raises :class:`WorkerDied` ending with
    ``if_a_worker_dies``. Close the iterator when stopping early
    (``contextlib.closing``): that stops the workers at once.
    """
    global _job
    _job = shared
    count = worker_count() if workers is None else workers
    try:
        if count < 2:
            if setup is not None:
                setup()
            yield from map(func, tasks)
            return
        crew = _Crew(func, count, setup)
        try:
            yield from crew.run(tasks, window=2 * count + 1, if_a_worker_dies=if_a_worker_dies)
        finally:
            crew.stop()
    finally:
        _job = None


class _Worker:
    """One forked worker and the parent's ends of its two pipes."""

    def __init__(self, context, func: Callable, setup: Callable[[], None] | None):
        its_tasks, self.tasks = context.Pipe(duplex=False)
        self.results, its_results = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(func, setup, its_tasks, its_results, os.getpid()),
            daemon=True)
        self.process.start()
        its_tasks.close()  # the worker's ends: once it dies, its result pipe just ends
        its_results.close()
        self.task: int | None = None  # index of the task it is working on


def _serve(func: Callable, setup: Callable[[], None] | None, tasks: Connection,
           results: Connection, parent: int) -> None:
    """A worker's life: tasks in, results (or the exception raised) out, until told to
    stop or its parent goes."""
    worker_started(parent)
    failed = None
    try:
        if setup is not None:
            setup()
    except Exception as exc:  # given back as every task's outcome: the parent says why
        failed = exc
    while True:
        try:
            message = tasks.recv()
        except EOFError:
            return
        if message is None:
            return
        index, task = message
        try:
            if failed is not None:
                raise failed
            outcome = (True, func(task))
        except Exception as exc:  # raised again in the parent, as the in-process map would
            outcome = (False, exc)
        try:
            results.send((index, outcome))
        except Exception as exc:  # a result or an exception that does not pickle
            results.send((index, (False, RuntimeError(f"{type(exc).__name__}: {exc}"))))


class _Crew:
    """The workers of one map: hands out tasks, gathers results in task order."""

    def __init__(self, func: Callable, count: int, setup: Callable[[], None] | None):
        context = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        for _ in range(count):
            self.workers.append(_Worker(context, func, setup))

    def run(self, tasks: Iterable, window: int, if_a_worker_dies: str) -> Iterator:
        feed, exhausted = enumerate(tasks), False
        done: dict[int, tuple[bool, Any]] = {}
        issued = next_out = 0
        while True:
            for worker in self.workers:
                if worker.task is None and not exhausted and issued - next_out < window:
                    item = next(feed, None)
                    if item is None:
                        exhausted = True
                        break
                    try:
                        worker.tasks.send(item)
                    except OSError:  # it died while idle
                        raise _died(if_a_worker_dies) from None
                    worker.task, issued = item[0], issued + 1
            while next_out in done:
                ok, value = done.pop(next_out)
                next_out += 1
                if not ok:
                    raise value
                yield value
            if exhausted and next_out == issued:
                return
            if any(worker.task is not None for worker in self.workers):
                self._gather(done, if_a_worker_dies)
            # else: what was waiting has been handed on, which made room for more tasks

    def _gather(self, done: dict[int, tuple[bool, Any]], if_a_worker_dies: str) -> None:
        """Wait for at least one result; a worker that ended without one stops the map."""
        busy = [w for w in self.workers if w.task is not None]
        ready = set(wait([w.results for w in busy] + [w.process.sentinel for w in busy]))
        for worker in busy:
            if worker.results in ready:
                try:
                    index, outcome = worker.results.recv()
                except (EOFError, OSError):
                    raise _died(if_a_worker_dies) from None
                done[index], worker.task = outcome, None
            elif worker.process.sentinel in ready:
                raise _died(if_a_worker_dies)

    def stop(self) -> None:
        """Idle workers are told to stop; busy ones (the map ended early) are killed."""
        for worker in self.workers:
            if worker.task is None and worker.process.is_alive():
                try:
                    worker.tasks.send(None)
                except OSError:
                    worker.process.kill()
            else:
                worker.process.kill()
        for worker in self.workers:
            worker.process.join()
            worker.tasks.close()
            worker.results.close()


def _died(what_now: str) -> WorkerDied:
    return WorkerDied("a worker process ended abruptly (killed by the system, by its "
                      f"out-of-memory killer for instance): {what_now}")
