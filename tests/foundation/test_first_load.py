"""The first import into an empty book takes its own path; it must agree with the general one.

The first load applies cash before writing documents; later imports insert and then rerun
cash application over the touched groups. Both must end in exactly the same open amounts,
closing dates and allocations, whatever the mix of partial, unreferenced and repeated lines.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

import arcli.importing.first_load as first_load
import arcli.importing.ledger as ledger_import
from arcli.allocation import PRINCIPAL_FIRST
from arcli.cash_application import reapply
from arcli.store import open_store
from arcli.store.schema import allocations, documents
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


def book_state(db: str) -> tuple[list, list]:
    """Documents' derived state and the allocations, keyed by document content, not id.

    Values as text, so a PostgreSQL book (dates as dates) compares with a SQLite one.
    """
    store = open_store(db)
    with store.engine.connect() as conn:
        docs = sorted(tuple(map(str, r)) for r in conn.execute(text(
            "SELECT type, number, open_minor, closed_on FROM documents")))
        allocs = sorted(tuple(map(str, r)) for r in conn.execute(text(
            "SELECT c.number, d.number, a.amount_minor, a.effective_date, a.rule, a.note "
            "FROM allocations a JOIN documents c ON c.id = a.credit_id "
            "JOIN documents d ON d.id = a.debit_id")))
    store.dispose()
    return docs, allocs


@pytest.fixture(params=[(10_000, "staged"), (100, "staged"), (10_000, "spilled"),
                        (100, "spilled")], ids=lambda p: f"{p[1]}-{p[0]}")
def apply_mode(request, monkeypatch):
    """The first load's batches of groups (one for the sample, or many small ones), through
    the staging table or spilled by customer range (a big file's path on SQLite, here with
    small parsing slices and ranges so that every step really splits)."""
    task_rows, path = request.param
    monkeypatch.setattr(first_load, "_TASK_ROWS", task_rows)
    if path == "spilled":
        use_spill(monkeypatch)
    return request.param


def use_spill(monkeypatch) -> None:
    """Make even a small file take the spilled first load, in parallel slices."""
    from arcli import forkpool
    from arcli.importing import ledger, parsing, spill

    monkeypatch.setattr(ledger, "SPILL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 4096)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)
    real = spill.CustomerRanges.of.__func__
    monkeypatch.setattr(spill.CustomerRanges, "of",
                        classmethod(lambda cls, ids, ranges: real(cls, ids, 7)))


def test_first_load_equals_a_full_reapply(arcli, tmp_path, apply_mode):
    customers, ledger = generate(tmp_path / "data", 3000, 40, seed=7)
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    repeated = tmp_path / "repeated.csv"  # identical repeats are allowed and skipped
    repeated.write_text("".join([*lines, *lines[1:200]]), encoding="utf-8")
    assert arcli("import", "customers", str(customers)).exit_code == 0
    result = arcli("import", "ledger", str(repeated), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 3000
    assert json.loads(result.stdout)[0]["unchanged"] == 199
    first = book_state(arcli.db)
    assert len(first[1]) > 500  # the sample really exercises cash application
    store = open_store(arcli.db)
    with store.engine.begin() as conn:
        reapply(conn, None, settlement_order=PRINCIPAL_FIRST)
    store.dispose()
    assert book_state(arcli.db) == first


def test_first_load_then_more_equals_one_load(arcli, tmp_path):
    from tests.conftest import Arcli

    customers, ledger = generate(tmp_path / "data", 2000, 25, seed=11)
    header, *rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    halves = []
    for index, part in enumerate((rows[:1100], rows[1100:])):
        path = tmp_path / f"part{index}.csv"
        path.write_text(header + "".join(part), encoding="utf-8")
        halves.append(path)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    for path in halves:
        assert arcli("import", "ledger", str(path)).exit_code == 0
    whole = Arcli(str(tmp_path / "whole.db"), tmp_path)
    whole("init", "--no-config")
    whole("import", "customers", str(customers))
    assert whole("import", "ledger", str(ledger)).exit_code == 0
    assert book_state(arcli.db) == book_state(whole.db)
    assert arcli("aging", "--json").stdout == whole("aging", "--json").stdout


def test_ids_of_one_customer_are_contiguous(arcli, tmp_path, apply_mode):
    customers, ledger = generate(tmp_path / "data", 1000, 10, seed=3)
    arcli("import", "customers", str(customers))
    arcli("import", "ledger", str(ledger))
    store = open_store(arcli.db)
    with store.engine.connect() as conn:
        spans = conn.execute(text(
            "SELECT customer_id, MIN(id), MAX(id), COUNT(*) FROM documents "
            "GROUP BY customer_id")).all()
    store.dispose()
    assert all(high - low + 1 == count for _, low, high, count in spans)


def book_rows(db: str) -> tuple[list, list]:
    """Documents and allocations exactly as stored, ids included."""
    store = open_store(db)
    with store.engine.connect() as conn:
        docs = [tuple(r) for r in conn.execute(text(
            "SELECT id, type, number, customer_id, date, due_date, amount_minor, sign, "
            "currency, reference, description, content_hash, line_no, open_minor, closed_on "
            "FROM documents ORDER BY id"))]
        allocs = [tuple(r)[1:] for r in conn.execute(text(
            "SELECT * FROM allocations ORDER BY id"))]
    store.dispose()
    return docs, allocs


def test_spilled_first_load_stores_exactly_what_the_staged_one_stores(tmp_path, monkeypatch):
    from tests.conftest import Arcli

    customers, ledger = generate(tmp_path / "data", 3000, 40, seed=5)
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("".join([*lines, *lines[1:300]]), encoding="utf-8")
    books = []
    for path in ("staged", "spilled"):
        if path == "spilled":
            use_spill(monkeypatch)
        book = Arcli(str(tmp_path / f"{path}.db"), tmp_path)
        book("init", "--no-config")
        book("import", "customers", str(customers))
        result = book("import", "ledger", str(repeated), "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["unchanged"] == 299
        books.append(book_rows(book.db))
    assert books[0] == books[1]
    assert len(books[0][0]) == 3000 and len(books[0][1]) > 500


@pytest.mark.parametrize("path", ["staged", "spilled"])
@pytest.mark.parametrize("repeats", ["same customer", "other customer", "both"])
def test_first_load_refuses_a_number_repeated_with_other_content(arcli, tmp_path,
                                                                   monkeypatch, path, repeats):
    """Within one customer's lines and across customers, reported as the staging check
    reports it (first and last line of the number); nothing is stored."""
    if path == "spilled":
        use_spill(monkeypatch)
    customers, ledger = generate(tmp_path / "data", 400, 8, seed=9)
    header, *rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = rows[10].split(",")  # type,number,customer,...
    other = next(r for r in rows if r.split(",")[2] != fields[2])
    extra = [rows[10]]  # an identical repeat is fine
    if repeats in ("same customer", "both"):
        extra.append(",".join([*fields[:5], "1234.56", *fields[6:]]))
    if repeats in ("other customer", "both"):
        extra.append(",".join([*fields[:2], other.split(",")[2], *fields[3:]]))
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "".join(rows) + "".join(extra), encoding="utf-8")
    assert arcli("import", "customers", str(customers)).exit_code == 0
    result = arcli("import", "ledger", str(bad))
    assert result.exit_code == 1, result.output
    last = len(rows) + 1 + len(extra)
    assert (f"line {last}: number: {fields[0]} {fields[1]} appears again with different "
            f"content (first at line 12)") in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(arcli("aging", "--json").stdout) == []


def journal_mode(db: str) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.mark.parametrize("outcome", ["loaded", "refused"])
def test_a_spilled_first_load_uses_bulk_settings_and_restores_the_usual_ones(
        arcli, tmp_path, monkeypatch, outcome):
    """The load writes its pages once (rollback journal instead of WAL + checkpoint) and
    checks foreign keys once at the end; afterwards, committed or rolled back, the book is
    in WAL mode and no journal is left."""
    if not arcli.is_sqlite:
        pytest.skip("the bulk-load journal settings are SQLite's")
    use_spill(monkeypatch)
    seen = []
    real_load = first_load.load_first_spilled

    def watched(conn, *args, **kwargs):
        for setting in ("journal_mode", "synchronous", "foreign_keys"):
            seen.append(conn.exec_driver_sql(f"PRAGMA {setting}").scalar())
        return real_load(conn, *args, **kwargs)

    monkeypatch.setattr(ledger_import, "load_first_spilled", watched)
    customers, ledger = generate(tmp_path / "data", 500, 8, seed=4)
    if outcome == "refused":  # a number repeated with other content: rolled back
        header, *rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
        fields = rows[3].split(",")
        changed = ",".join([*fields[:5], "1.23", *fields[6:]])
        ledger.write_text(header + "".join(rows) + changed, encoding="utf-8")
    arcli("import", "customers", str(customers))
    result = arcli("import", "ledger", str(ledger), "--json")
    assert result.exit_code == (0 if outcome == "loaded" else 1), result.output
    assert seen == ["delete", 2, 0]  # synchronous=FULL while journaling to a file
    assert journal_mode(arcli.db) == "wal"
    assert not Path(arcli.db + "-journal").exists()
    expected = 500 if outcome == "loaded" else 0
    assert sum(1 for _ in sqlite3.connect(arcli.db).execute("SELECT id FROM documents")) \
        == expected


def test_a_book_open_elsewhere_keeps_its_wal_during_a_first_load(arcli, tmp_path,
                                                                 monkeypatch):
    """SQLite refuses the switch while another connection has the book open; the load
    then runs in WAL mode, at once rather than after waiting for the other side."""
    if not arcli.is_sqlite:
        pytest.skip("the bulk-load journal settings are SQLite's")
    use_spill(monkeypatch)
    customers, ledger = generate(tmp_path / "data", 300, 6, seed=8)
    arcli("import", "customers", str(customers))
    with contextlib.closing(sqlite3.connect(arcli.db)) as other:
        other.execute("SELECT COUNT(*) FROM customers").fetchone()
        result = arcli("import", "ledger", str(ledger), "--json")
        assert result.exit_code == 0, result.output
        assert other.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 300
    assert journal_mode(arcli.db) == "wal"


def test_bulk_load_settings_switch_only_outside_a_transaction(tmp_path):
    from arcli.store.bulk_load import bulk_load_settings

    store = open_store(str(tmp_path / "j.db"))
    store.upgrade()
    with store.engine.connect() as conn, bulk_load_settings(conn) as bulk:
        conn.exec_driver_sql("INSERT INTO import_batches (kind, file_name, sha256, rows_read, "
                             "rows_inserted, rows_unchanged, rows_replaced, imported_at) "
                             "VALUES ('ledger', 'f', 'x', 0, 0, 0, 0, '2026-01-01')")
        assert not bulk.switch_on()  # a write has begun: too late
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        conn.rollback()
        assert bulk.switch_on()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def losing_a_customer(load):
    """``load`` as the import calls it, with customer K000003 deleted just before (as if
    by another program)."""
    def customer_vanishes(conn, *args, **kwargs):
        conn.exec_driver_sql("DELETE FROM customers WHERE id = 'K000003'")
        return load(conn, *args, **kwargs)
    return customer_vanishes


def test_a_customer_removed_during_a_bulk_load_fails_it(arcli, tmp_path, monkeypatch):
    """Foreign keys are checked once at the end of a bulk load: a customer that vanished
    meanwhile (another program editing the book) fails the import; nothing is stored."""
    use_spill(monkeypatch)
    customers, ledger = generate(tmp_path / "data", 300, 6, seed=8)
    arcli("import", "customers", str(customers))
    monkeypatch.setattr(ledger_import, "load_first_spilled",
                        losing_a_customer(first_load.load_first_spilled))
    result = arcli("import", "ledger", str(ledger))
    assert result.exit_code == 1
    assert "customers removed from the book while the import ran: K000003" in result.stderr
    store = open_store(arcli.db)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM documents").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM customers").scalar() == 6
    store.dispose()


def test_a_report_reads_a_book_whose_bulk_load_was_killed(arcli, tmp_path):
    """A process killed during a bulk load leaves a hot rollback journal: the next report
    rolls it back and shows the book as it was before the load, nothing half-imported."""
    if not arcli.is_sqlite:
        pytest.skip("the rollback journal of a bulk load is SQLite's")
    customers, ledger = generate(tmp_path / "data", 200, 4, seed=2)
    arcli("import", "customers", str(customers))
    arcli("import", "ledger", str(ledger))
    before = arcli("aging", "--json").stdout
    crash = ("import os, signal, sqlite3, sys\n"
             "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "conn.execute('PRAGMA journal_mode=DELETE')\n"
             "conn.execute('PRAGMA cache_size=10')  # spill changed pages into the file\n"
             "conn.execute('BEGIN')\n"
             "conn.execute('UPDATE documents SET open_minor = 0')\n"
             "conn.execute('DELETE FROM allocations')\n"
             "os.kill(os.getpid(), signal.SIGKILL)\n")
    subprocess.run([sys.executable, "-c", crash, arcli.db], check=False)
    assert Path(arcli.db + "-journal").exists()
    result = arcli("aging", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == before
    assert arcli("import", "ledger", str(ledger), "--json").exit_code == 0
    assert journal_mode(arcli.db) == "wal"


def _foreign_keys(url: str) -> set[tuple[str, str]]:
    from sqlalchemy import create_engine, inspect

    from arcli.store import store_url

    engine = create_engine(store_url(url))
    with engine.connect() as conn:
        found = {(table, fk["name"]) for table in ("documents", "allocations")
                 for fk in inspect(conn).get_foreign_keys(table)}
    engine.dispose()
    return found


def test_a_postgresql_bulk_load_checks_foreign_keys_once_and_keeps_them(
        arcli, tmp_path, monkeypatch):
    """PostgreSQL's bulk load drops the foreign keys and adds them back (one check of all
    rows); a row without its customer then fails the load, and the keys stay either way."""
    if arcli.is_sqlite:
        pytest.skip("SQLite cannot drop foreign keys; its bulk load switches checks off")
    monkeypatch.setattr(ledger_import, "BULK_LOAD_ROWS", 1)
    declared = {(table.name, fk.name) for table in (documents, allocations)
                for fk in table.foreign_key_constraints}
    assert _foreign_keys(arcli.db) == declared
    customers, ledger = generate(tmp_path / "data", 300, 6, seed=8)
    arcli("import", "customers", str(customers))
    with monkeypatch.context() as patched:
        patched.setattr(ledger_import, "load_first", losing_a_customer(first_load.load_first))
        patched.setattr(ledger_import, "_check_customers", lambda conn, loaded: None)
        failed = arcli("import", "ledger", str(ledger))
    assert failed.exit_code == 1
    assert "K000003" in failed.stderr
    assert _foreign_keys(arcli.db) == declared
    assert json.loads(arcli("aging", "--json").stdout) == []
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
    assert _foreign_keys(arcli.db) == declared
    assert json.loads(arcli("aging", "--json").stdout) != []


def test_a_dry_run_of_a_spilled_first_load_leaves_the_book_as_it_was(arcli, tmp_path,
                                                                      monkeypatch):
    """Everything the load did (rows, dropped indexes and keys) is rolled back; the
    report of what would be imported is the real one's."""
    from tests.foundation.test_schema import schema_differences

    use_spill(monkeypatch)
    customers, ledger = generate(tmp_path / "data", 600, 9, seed=12)
    arcli("import", "customers", str(customers))
    dry = arcli("import", "ledger", str(ledger), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)[0]["inserted"] == 600
    assert json.loads(arcli("aging", "--json").stdout) == []
    store = open_store(arcli.db)
    assert schema_differences(store) == []
    store.dispose()
    real = arcli("import", "ledger", str(ledger), "--json")
    assert json.loads(real.stdout)[0]["inserted"] == 600


def test_a_full_temporary_folder_is_an_error_that_says_so(arcli, tmp_path, monkeypatch):
    """The spill files of a big load go to TMPDIR; when it fills up (here: the parsing
    workers' writes fail as a full disk makes them), the user reads what happened and
    where, the exit code is 1 and nothing is imported."""
    import errno
    import tempfile

    from arcli.importing import spill

    use_spill(monkeypatch)

    def disk_full(self, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill.Spill, "write", disk_full)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # as in a new process: read TMPDIR again
    customers, ledger = generate(tmp_path / "data", 300, 6, seed=8)
    arcli("import", "customers", str(customers))
    result = arcli("import", "ledger", str(ledger))
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "TMPDIR" in result.stderr
    assert str(tmp_path) in result.stderr
    assert "internal error" not in result.stderr
    assert json.loads(arcli("aging", "--json").stdout) == []


def test_spill_folders_of_killed_imports_are_removed_by_the_next_one(arcli, tmp_path,
                                                                     monkeypatch):
    """A killed import cannot remove its temporary files; the next big import does,
    and leaves those of imports still running alone."""
    import os
    import tempfile

    use_spill(monkeypatch)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # as in a new process: read TMPDIR again
    dead = tmp_path / "arcli-load-4194999-x1y2"  # above Linux's largest pid: no such process
    alive = tmp_path / f"arcli-load-{os.getpid()}-a1b2"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "slice.rows").write_bytes(b"\\0" * 1000)
    customers, ledger = generate(tmp_path / "data", 300, 6, seed=8)
    arcli("import", "customers", str(customers))
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
    assert not dead.exists()
    assert alive.exists()
    assert sorted(p.name for p in tmp_path.glob("arcli-load-*")) == [alive.name]


def test_an_import_tells_how_far_it_has_got(arcli, tmp_path, monkeypatch):
    """Progress as a terminal shows it: the file's bytes while reading, each customer
    range while loading, then the index builds; a rerun only compares; a small file into
    a book with documents counts records (no byte total) and then loads."""
    from arcli.importing.ledger import LedgerImportOptions, import_ledger
    from arcli.importing.mapping import Mapping

    use_spill(monkeypatch)
    customers, ledger = generate(tmp_path / "data", 3000, 40, seed=5)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    size = ledger.stat().st_size
    store = open_store(arcli.db)
    options = LedgerImportOptions(Mapping())

    def run(path: Path) -> list[tuple[str, int, int]]:
        seen: list[tuple[str, int, int]] = []
        import_ledger(store, str(path), options, lambda *step: seen.append(step))
        return seen

    first = run(ledger)
    reading = [step for step in first if step[0] == "reading"]
    assert len(reading) > 3 and all(total == size for _, _, total in reading)
    assert [done for _, done, _ in reading] == sorted(done for _, done, _ in reading)
    assert reading[-1] == ("reading", size, size)
    loading = [step for step in first if step[0] == "loading"]
    assert loading == [("loading", done, 7) for done in range(1, 8)]
    assert first == [*reading, *loading, ("indexing", 0, 0)]

    again = run(ledger)
    assert {stage for stage, _, _ in again} == {"checking"}
    assert again[-1] == ("checking", size, size)

    from arcli.importing import parsing

    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 1 << 40)  # read in one process
    header, *rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    renumbered = (",".join([doc_type, f"{number}-B", *rest])  # new documents
                  for doc_type, number, *rest in (row.split(",") for row in rows[:40]))
    more = tmp_path / "more.csv"
    more.write_text(header + "".join(renumbered), encoding="utf-8")
    small = more.stat().st_size  # read in slices here too: bytes, the header last
    assert run(more) == [("reading", small - len(header), small), ("reading", small, small),
                         ("loading", 0, 0)]
    jsonl = tmp_path / "more.jsonl"  # a format read record by record: records, total 0
    jsonl.write_text("".join(json.dumps(dict(zip(header.strip().split(","),
                                                 row.strip().split(","), strict=True))) + "\n"
                             for row in rows[40:43]), encoding="utf-8")
    assert run(jsonl) == [("reading", 3, 0), ("loading", 0, 0)]
    store.dispose()
