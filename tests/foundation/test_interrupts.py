"""Ctrl-C: the command stops with "interrupted"/"aborted" and exit 130, no traceback from
it or its worker processes, and nothing half-done in the book. A worker process killed
under a command (the out-of-memory killer): a plain message and exit 1.

Also the clean-ups that run while an interrupt unwinds: they must not replace it with an
error of their own (SQLAlchemy drops a connection interrupted mid-statement, and settings
restored on it failed with "database is locked" or "closed database").
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arcli.store import open_store
from arcli.store.bulk_load import bulk_load_settings
from arcli.store.indexes import _threaded_sorting
from tests.conftest import ROOT, TODAY
from tests.killing import (
    finished,
    import_paused,
    resumed,
    started_until,
)

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


def test_ctrl_c_while_a_big_first_load_applies_cash_in_its_workers(arcli, tmp_path):
    run, _, ledger = import_paused(arcli, tmp_path, seed=12)
    os.killpg(run.pid, signal.SIGINT)
    status, stderr = finished(run)
    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines()[-1] in ("arcli: aborted", "arcli: interrupted")
    assert json.loads(arcli("aging", "--json").stdout) == []
    assert arcli("import", "ledger", str(ledger)).exit_code == 0


def _statements_running(arcli, folder: Path, seed: int):
    """A book of 300 customers, and ``arcli statements --jobs 2`` on it once it has
    written its first files; returns the run and its output folder."""
    customers, ledger = generate(folder / "data", 6000, 300, seed=seed)
    for kind, path in (("customers", customers), ("ledger", ledger)):
        assert arcli("import", kind, str(path)).exit_code == 0
    out = folder / "st"
    run = started_until(lambda: len(list(out.glob("*.pdf"))) >= 5,
                        [sys.executable, "-m", "arcli", "--db", arcli.db, "statements",
                         "--period", "2026-10", "--jobs", "2", "--out", str(out)],
                        {**os.environ, "ARCLI_TODAY": TODAY}, folder)
    return run, out


def test_ctrl_c_during_a_statement_batch_in_worker_processes(arcli, tmp_path):
    run, out = _statements_running(arcli, tmp_path, seed=13)
    os.killpg(run.pid, signal.SIGINT)
    status, stderr = finished(run)
    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert not (out / "manifest.json").exists()


def test_an_interrupt_in_an_index_build_is_not_replaced_by_restoring_its_settings(tmp_path):
    store = open_store(str(tmp_path / "book.db"))
    store.upgrade()
    with store.engine.connect() as conn, pytest.raises(KeyboardInterrupt), \
            _threaded_sorting(conn):
        conn.connection.driver_connection.close()  # what dropping the connection leaves
        raise KeyboardInterrupt
    store.dispose()


def test_an_interrupt_in_a_bulk_load_is_not_replaced_by_restoring_wal(tmp_path):
    store = open_store(str(tmp_path / "book.db"))
    store.upgrade()
    other = sqlite3.connect(tmp_path / "book.db", isolation_level=None, timeout=0.1)
    with store.engine.connect() as conn, pytest.raises(KeyboardInterrupt), \
            bulk_load_settings(conn) as bulk:
        assert bulk.switch_on()
        conn.invalidate()  # what SQLAlchemy does to a connection interrupted mid-statement
        other.execute("BEGIN IMMEDIATE")  # and someone else writes meanwhile
        raise KeyboardInterrupt
    other.rollback()
    other.close()
    store.dispose()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(child) for child in found.stdout.split()]


def test_a_worker_killed_while_an_import_applies_cash_is_reported_plainly(arcli, tmp_path):
    run, work, _ = import_paused(arcli, tmp_path, seed=15)
    workers = _children(run.pid)
    assert len(workers) >= 2
    os.kill(workers[0], signal.SIGKILL)
    status, stderr = resumed(run, work, "loading")
    assert status == 1
    assert "a worker process ended abruptly" in stderr and "nothing was imported" in stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert json.loads(arcli("aging", "--json").stdout) == []


def test_a_worker_killed_during_a_statement_batch_is_reported_plainly(arcli, tmp_path):
    run, _ = _statements_running(arcli, tmp_path, seed=16)
    os.kill(_children(run.pid)[0], signal.SIGKILL)
    status, stderr = finished(run)
    assert status == 1
    assert "a worker process ended abruptly" in stderr and "run the command again" in stderr
    assert "internal error" not in stderr and "Traceback" not in stderr


def _gone(pids: list[int], within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_an_import_stopped_by_a_signal_to_its_main_process_leaves_no_workers(
        arcli, tmp_path, sig):
    """A scheduler's timeout or a service stop sends SIGTERM to arcli alone: it stops as
    cleanly as on Ctrl-C (exit 143, "terminated", its temporary files removed). Killed
    outright, it cannot clean up, but its workers die with it instead of waiting for
    tasks for ever. The book is as it was either way."""
    run, work, _ = import_paused(arcli, tmp_path, seed=17)
    workers = _children(run.pid)
    assert len(workers) >= 2
    os.kill(run.pid, sig)
    status, stderr = finished(run)
    assert _gone(workers), [(pid, _state(pid)) for pid in workers]
    if sig == signal.SIGTERM:
        assert status == 143 and stderr.strip().splitlines()[-1] == "arcli: terminated"
        assert "Traceback" not in stderr
        assert not list(work.glob("arcli-load-*"))
    assert json.loads(arcli("aging", "--json").stdout) == []


def _same(value):
    return value


def test_a_worker_that_died_while_idle_stops_the_map_when_it_is_next_given_work():
    from arcli import forkpool
    from arcli.errors import WorkerDied

    results = forkpool.ordered_map(_same, range(40), None, workers=2,
                                   if_a_worker_dies="what now")
    with contextlib.closing(results):
        assert next(results) == 0
        idle = _children(os.getpid())
        deadline = time.monotonic() + 10
        while not all(_state(pid) == "S" for pid in idle) and time.monotonic() < deadline:
            time.sleep(0.05)  # both wait for tasks: the map is paused by this consumer
        os.kill(idle[0], signal.SIGKILL)
        assert _gone(idle[:1])
        with pytest.raises(WorkerDied, match=r"ended abruptly.*what now"):
            list(results)
    assert _gone(idle)
