"""An import killed at its most fragile moments leaves the book as it was, and the rerun
imports everything once: a real ``arcli`` process killed with SIGKILL, on both backends.

The process is stopped at a chosen stage (see :mod:`tests.killing`), so the kill lands
exactly there:

* "indexing": a big first load has written every document and allocation, inside its
  transaction, with the indexes and (on PostgreSQL) the foreign keys dropped, and on
  SQLite in bulk-load mode (rollback journal);
* "loading": an import into a book with documents has filled its staging table and is
  about to insert.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import ROOT, Arcli
from tests.foundation.test_first_load import book_state, journal_mode, use_spill
from tests.killing import import_paused, killed_at, resumed

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


@pytest.mark.parametrize("stage", ["indexing", "loading"])
def test_a_killed_import_leaves_the_book_as_it_was_and_its_rerun_loads_it_once(
        arcli, tmp_path, monkeypatch, stage):
    customers, ledger = generate(tmp_path / "data", 3000, 40, seed=11)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    if stage == "loading":  # a book with documents already: the first half of the export
        lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
        half = tmp_path / "half.csv"
        half.write_text("".join(lines[:1500]), encoding="utf-8")
        assert arcli("import", "ledger", str(half)).exit_code == 0
    before = book_state(arcli.db), arcli("aging", "--json").stdout
    work = tmp_path / "killed"
    work.mkdir()

    killed_at("arcli.cli.importing", stage,
              ["--db", arcli.db, "-q", "import", "ledger", str(ledger)], work)

    assert (book_state(arcli.db), arcli("aging", "--json").stdout) == before
    if stage == "indexing":
        assert list(work.glob("arcli-load-*"))  # the killed load's spill folder is left
    use_spill(monkeypatch)
    monkeypatch.setenv("TMPDIR", str(work))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    rerun = arcli("import", "ledger", str(ledger), "--json")
    assert rerun.exit_code == 0, rerun.output
    summary = json.loads(rerun.stdout)[0]
    assert summary["rows"] == 3000 and summary["replaced"] == 0
    assert summary["inserted"] + summary["unchanged"] == 3000
    assert not list(work.glob("arcli-load-*"))  # removed by the rerun
    if arcli.is_sqlite:
        assert journal_mode(arcli.db) == "wal"

    reference = Arcli(str(tmp_path / "reference.db"), tmp_path)
    for args in (("init", "--no-config"), ("import", "customers", str(customers)),
                 ("import", "ledger", str(ledger))):
        assert reference(*args).exit_code == 0
    assert book_state(arcli.db) == book_state(reference.db)
    assert arcli("aging", "--json").stdout == reference("aging", "--json").stdout


def test_an_import_whose_database_session_ends_says_so_and_changes_nothing(arcli, tmp_path):
    """The PostgreSQL server ends the import's sessions (a restart, an administrator)
    while it loads: a plain message and exit 1, not an internal error, and the book as
    it was."""
    if arcli.is_sqlite:
        pytest.skip("a database session that a server ends is PostgreSQL's")
    from sqlalchemy import text

    from arcli.store import open_store

    run, work, ledger = import_paused(arcli, tmp_path, seed=14)
    admin = open_store(arcli.db)
    with admin.engine.connect() as conn:
        ended = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert ended >= 2  # the import's connection and its batch lock's
    status, stderr = resumed(run, work, "loading")
    assert status == 1
    assert "lost the connection to the database" in stderr and "run it again" in stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert json.loads(arcli("aging", "--json").stdout) == []
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
