"""Other commands during a big first load: they wait for it (up to the 30 s busy timeout)
and then work, or say plainly that the book is busy; never "database is locked" at once.

The load is a real ``arcli import`` process, paused where it holds the book hardest: every
document written inside its transaction, under the bulk-load settings (rollback journal,
see ``store/bulk_load``), indexes still to build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import TODAY
from tests.foundation.test_first_load import journal_mode
from tests.killing import import_paused, resumed


def _arcli(db: str, cwd, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "arcli", "--db", db, *args], cwd=cwd,
                            env={**os.environ, "ARCLI_TODAY": TODAY}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def loading(arcli, tmp_path):
    """A SQLite book and a first load of 3,000 documents into it, paused mid-load."""
    if not arcli.is_sqlite:
        pytest.skip("PostgreSQL has no book-wide lock; the bulk-load journal is SQLite's")
    run, work, _ledger = import_paused(arcli, tmp_path, seed=21, stage="indexing")
    assert journal_mode(arcli.db) == "delete"  # the load's rollback journal
    yield run, work
    if run.poll() is None:
        resumed(run, work, "indexing")


def test_commands_during_a_first_load_wait_for_it_and_then_work(arcli, tmp_path, loading):
    run, work = loading
    # Reports read the book as it was before the load (a reader waits for no one) ...
    for args in (["aging", "--json"], ["credit", "--json"], ["dunning", "history", "--json"]):
        report = _arcli(arcli.db, tmp_path, *args)
        _out, err = report.communicate(timeout=60)
        assert report.returncode == 0, (args, err)
    # ... and a change waits for the load instead of failing at once.
    block = _arcli(arcli.db, tmp_path, "dunning", "block", "K000001", "--until", "2027-01-01",
                   "--reason", "disputed delivery")
    time.sleep(2)
    assert block.poll() is None, block.communicate()  # still waiting, not failed
    status, err = resumed(run, work, "indexing")
    assert status == 0, err
    _out, err = block.communicate(timeout=60)
    assert block.returncode == 0, err
    assert "blocked customer K000001" in err
    aging = json.loads(arcli("aging", "--json").stdout)
    assert len(aging) == 40  # the whole load is there
    assert journal_mode(arcli.db) == "wal"


def test_a_change_that_waited_its_time_out_says_the_book_is_busy(arcli, tmp_path, loading,
                                                                 monkeypatch):
    """After the busy timeout (30 s; 1 s here) a plain message and exit 1, book as it was."""
    from arcli.store import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 1000)
    started = time.monotonic()
    result = arcli("dunning", "block", "K000001", "--until", "2027-01-01", "--reason", "x")
    assert result.exit_code == 1
    assert time.monotonic() - started >= 1
    assert "the book is busy" in result.stderr and "Traceback" not in result.stderr
    run, work = loading
    status, err = resumed(run, work, "indexing")
    assert status == 0, err
    assert json.loads(arcli("dunning", "history", "--json").stdout or "[]") == []
    blocks = arcli("dunning", "block", "K000001", "--until", "2027-01-01", "--reason", "x")
    assert blocks.exit_code == 0, blocks.output


@pytest.mark.parametrize("command", [["aging"], ["aging", "--detail"], ["credit"]])
def test_a_report_that_waited_its_time_out_says_the_book_is_busy(example_book, monkeypatch,
                                                                 command):
    """Quick reports (their own read-only connection) and the others wait as long as the
    engine does, then give the same plain message."""
    import contextlib
    import sqlite3

    from arcli.store import engine, location

    if not example_book.is_sqlite:
        pytest.skip("SQLite's book-wide lock")
    monkeypatch.setattr(location, "BUSY_TIMEOUT_MS", 1000)
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 1000)
    with contextlib.closing(sqlite3.connect(example_book.db, isolation_level=None)) as holder:
        holder.execute("PRAGMA journal_mode=DELETE")  # as a first load holds it
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        result = example_book(*command, "--json")
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")
    assert result.exit_code == 1
    assert 1 <= waited < 20
    assert "the book is busy" in result.stderr and "Traceback" not in result.stderr
