"""Team features: book copy between backends, batch locks, deterministic shards."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from arcli.errors import UsageError
from arcli.sharding import parse_shard
from arcli.store import open_store
from arcli.store.locks import LockHeld, batch_lock
from tests.conftest import EXAMPLES, PG_ADMIN_URL, Arcli, _pg_database_url
from tests.foundation.test_schema import schema_differences

needs_pg = pytest.mark.skipif(not PG_ADMIN_URL, reason="no PostgreSQL server")


@pytest.fixture
def pg_database():
    from sqlalchemy import create_engine, text

    from arcli.store import store_url

    admin = create_engine(store_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    names = []

    def make() -> str:
        name = f"arcli_copy_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return _pg_database_url(PG_ADMIN_URL, name)

    yield make
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@needs_pg
def test_copy_sqlite_to_postgresql_and_back(tmp_path, pg_database):
    sqlite_book = Arcli(str(tmp_path / "a.db"), tmp_path)
    sqlite_book("init", "--no-config")
    sqlite_book("import", "customers", str(EXAMPLES / "customers.csv"))
    sqlite_book("import", "ledger", str(EXAMPLES / "ledger.csv"))
    sqlite_book("dispute", "open", "INV-2026-0102", "--reason", "x")
    pg = pg_database()
    there = sqlite_book("db", "copy", sqlite_book.db, pg, "--json")
    assert there.exit_code == 0, there.output
    assert all(r["status"] == "ok" for r in json.loads(there.stdout))
    copied = open_store(pg)  # indexes and keys built again after the bulk copy
    assert schema_differences(copied) == []
    copied.dispose()
    back_path = str(tmp_path / "back.db")
    back = sqlite_book("db", "copy", pg, back_path, "--json")
    assert back.exit_code == 0, back.output
    copied_back = open_store(back_path)
    assert schema_differences(copied_back) == []
    copied_back.dispose()
    pg_book = Arcli(pg, tmp_path)
    back_book = Arcli(back_path, tmp_path)
    original = sqlite_book("aging", "--json", "--as-of", "2026-11-22").stdout
    assert pg_book("aging", "--json", "--as-of", "2026-11-22").stdout == original
    assert back_book("aging", "--json", "--as-of", "2026-11-22").stdout == original
    # New rows get fresh ids after the copy (sequences moved past the copied ids).
    assert pg_book("dispute", "open", "INV-2026-0166", "--reason", "y").exit_code == 0
    refused = sqlite_book("db", "copy", sqlite_book.db, pg)
    assert refused.exit_code == 2 and "not empty" in refused.stderr



@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgresql", marks=needs_pg)])
def test_a_copy_killed_before_it_commits_leaves_the_target_empty_for_the_rerun(
        tmp_path, request, target):
    """Every row copied and the indexes built, the process dies while it compares the
    balances: the target holds no rows, and copying again gives the whole book."""
    from sqlalchemy import func, select

    from arcli.store.schema import metadata
    from tests.killing import killed_at

    book = Arcli(str(tmp_path / "a.db"), tmp_path)
    for args in (("init", "--no-config"), ("import", "customers", str(EXAMPLES / "customers.csv")),
                 ("import", "ledger", str(EXAMPLES / "ledger.csv"))):
        assert book(*args).exit_code == 0
    dst = request.getfixturevalue("pg_database")() if target == "postgresql" \
        else str(tmp_path / "copy.db")
    work = tmp_path / "killed"
    work.mkdir()
    killed_at("arcli.cli.db", "checking", ["db", "copy", book.db, dst], work)

    copied = open_store(dst)
    with copied.connect() as conn:
        assert {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables} == {t.name: 0 for t in metadata.sorted_tables}
    copied.dispose()
    again = book("db", "copy", book.db, dst, "--json")
    assert again.exit_code == 0, again.output
    assert Arcli(dst, tmp_path)("aging", "--json").stdout == book("aging", "--json").stdout

def test_batch_lock_refuses_a_second_holder(db_url):
    store = open_store(db_url)
    store.upgrade()
    other = open_store(db_url)
    with batch_lock(store, "statements"):
        with pytest.raises(LockHeld, match="already running statements"), \
                batch_lock(other, "statements"):
            pass
        with batch_lock(other, "dunning"):  # a different batch is not blocked
            pass
    with batch_lock(other, "statements"):  # released
        pass
    store.dispose()
    other.dispose()


def test_shards_of_one_batch_run_side_by_side_but_never_twice(db_url):
    """N hosts each run their shard of a batch at once; the same shard twice, or a whole
    run beside a shard, is refused."""
    store = open_store(db_url)
    store.upgrade()
    other = open_store(db_url)
    first, second = parse_shard("1/2"), parse_shard("2/2")
    with batch_lock(store, "statements", first):
        with batch_lock(other, "statements", second):  # the other host's shard
            pass
        with pytest.raises(LockHeld, match="running statements --shard 1/2"), \
                batch_lock(other, "statements", first):
            pass
        with pytest.raises(LockHeld, match="already running statements on"), \
                batch_lock(other, "statements"):
            pass
    with batch_lock(store, "statements"), pytest.raises(LockHeld), \
            batch_lock(other, "statements", second):
        pass
    with batch_lock(other, "statements", second):  # all released
        pass
    store.dispose()
    other.dispose()


def test_a_host_runs_its_shard_while_another_host_runs_its_own(example_book, tmp_path):
    """statements, dunning run and send, each with another host mid-way through shard 1/2:
    shard 2/2 runs, shard 1/2 is refused."""
    assert example_book("statements", "--period", "2026-10", "--out",
                        str(tmp_path / "all")).exit_code == 0
    commands = {"statements": ("statements", "--period", "2026-10", "--out",
                               str(tmp_path / "s")),
                "dunning": ("dunning", "run", "--out", str(tmp_path / "letters")),
                "send": ("send", str(tmp_path / "all"), "--dry-run")}
    holder = open_store(example_book.db)
    for batch, command in commands.items():
        with batch_lock(holder, batch, parse_shard("1/2")):  # the other host, mid-run
            mine = example_book(*command, "--shard", "2/2")
            assert mine.exit_code in (0, 3), (batch, mine.output)
            again = example_book(*command, "--shard", "1/2")
            assert again.exit_code == 1, (batch, again.output)
            assert f"already running {batch} --shard 1/2" in again.stderr
    holder.dispose()


def test_an_import_waits_for_the_one_running_and_then_changes_nothing(db_url, tmp_path):
    """Two hosts importing the same export: the second waits for the first (whose lock
    the test holds here), says so, and then finds every document already imported."""
    import os
    import select
    import subprocess
    import sys
    import time

    from arcli.importing.ledger import LedgerImportOptions, import_ledger
    from arcli.importing.mapping import NATIVE
    from tests.conftest import TODAY

    book = Arcli(db_url, tmp_path)
    book("init", "--no-config")
    book("import", "customers", str(EXAMPLES / "customers.csv"))
    env = {**os.environ, "ARCLI_DB": db_url, "ARCLI_TODAY": TODAY}
    holder = open_store(db_url)
    with batch_lock(holder, "import"):  # what a running import holds
        waiting = subprocess.Popen(
            [sys.executable, "-m", "arcli", "import", "ledger", str(EXAMPLES / "ledger.csv"),
             "--json"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([waiting.stderr], [], [], 60)
        said = waiting.stderr.readline() if ready else ""
        assert "another import into this book is running: waiting" in said
        time.sleep(0.5)
        assert waiting.poll() is None  # still waiting, and nothing imported meanwhile
        assert json.loads(book("aging", "--json").stdout) == []
        # the running import's work (the command would wait for the lock held here)
        import_ledger(holder, str(EXAMPLES / "ledger.csv"), LedgerImportOptions(NATIVE))
    out, err = waiting.communicate(timeout=60)
    holder.dispose()
    assert waiting.returncode == 0, err
    summary = json.loads(out)[0]
    assert summary["inserted"] == 0 and summary["unchanged"] == summary["rows"] > 0


def test_sqlite_writers_wait_for_each_other_and_say_when_the_book_stays_busy(
        tmp_path, monkeypatch):
    """A write that meets another writer waits for it (instead of failing at once, as a
    transaction that read first does on SQLite); one that waits too long is told why."""
    import sqlite3
    import threading

    from arcli.store import engine

    book = Arcli(str(tmp_path / "b.db"), tmp_path)
    book("init", "--no-config")
    book("import", "customers", str(EXAMPLES / "customers.csv"))
    other = sqlite3.connect(book.db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another program in the middle of a write
    threading.Timer(1.0, lambda: other.execute("ROLLBACK")).start()
    waited = book("import", "ledger", str(EXAMPLES / "ledger.csv"), "--json")
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.stdout)[0]["inserted"] > 0

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 300)
    other.execute("BEGIN IMMEDIATE")
    try:
        for args in (("promise", "add", "C001", "100", "--by", "2026-12-31"),
                     ("import", "ledger", str(EXAMPLES / "ledger.csv"))):
            busy = book(*args)
            assert busy.exit_code == 1, busy.output
            assert "the book is busy: another program kept it locked (database is locked)" \
                in busy.stderr
            assert "internal error" not in busy.stderr
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert book("promise", "add", "C001", "100", "--by", "2026-12-31").exit_code == 0


def test_shards_cover_every_customer_exactly_once():
    customers = [f"C{i:05d}" for i in range(2000)]
    shards = [parse_shard(f"{k}/4") for k in range(1, 5)]
    owners = [[s.owns(c) for s in shards].count(True) for c in customers]
    assert owners == [1] * len(customers)
    sizes = [sum(s.owns(c) for c in customers) for s in shards]
    assert min(sizes) > 400  # roughly even
    assert parse_shard("2/4").owns("C00001") == parse_shard("2/4").owns("C00001")
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_statements_shards_split_the_batch(example_book, tmp_path):
    produced = []
    for k in (1, 2, 3):
        result = example_book("statements", "--period", "2026-10", "--shard", f"{k}/3",
                              "--out", str(tmp_path / f"s{k}"), "--json")
        assert result.exit_code == 0
        produced += sorted({r["customer"] for r in json.loads(result.stdout)
                            if r["status"] == "written"})
    assert sorted(produced) == ["C001", "C002", "C003", "C004", "C005", "C006"]


def _backend_pid(conn) -> int | None:
    if conn.dialect.name != "postgresql":
        return None
    return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _report_child_connection(store, queue) -> None:
    with store.connect() as conn:
        conn.exec_driver_sql("SELECT COUNT(*) FROM customers").scalar()
        queue.put((conn.info.get("opened_by"), _backend_pid(conn)))


def test_a_forked_worker_opens_its_own_connections(db_url):
    """`--jobs` workers are forked while the parent holds connections (the batch lock's,
    a pooled one). They must open their own and leave the parent's alone: sharing one
    would interleave two processes on one socket or SQLite handle."""
    import multiprocessing

    store = open_store(db_url)
    store.upgrade()
    with batch_lock(store, "statements"):
        with store.connect() as conn:  # goes back to the pool, still open
            conn.info["opened_by"] = "parent"
            parent_pid = _backend_pid(conn)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_report_child_connection, args=(store, queue))
        child.start()
        owner, child_pid = queue.get(timeout=60)
        child.join(60)
        assert child.exitcode == 0
        assert owner is None  # not the parent's pooled connection
        assert child_pid != parent_pid or parent_pid is None
        with store.connect() as conn:  # the parent's connection still works
            assert conn.info.get("opened_by") == "parent"
            assert _backend_pid(conn) == parent_pid
        with pytest.raises(LockHeld), batch_lock(open_store(db_url), "statements"):
            pass  # the lock's session survived the child
    store.dispose()


def stored_values(db: str) -> dict[str, list[tuple]]:
    """Every table's rows of a SQLite book, each value with the type SQLite stores it as
    (a date copied as a date object instead of SQLAlchemy's text would still read back the
    same through SQLAlchemy, so compare what is on disk)."""
    conn = sqlite3.connect(db)
    found = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        found[table] = conn.execute(
            f"SELECT {', '.join(columns)}, {', '.join(f'typeof({c})' for c in columns)} "
            f"FROM {table} ORDER BY rowid").fetchall()
    conn.close()
    return found


def test_a_book_copy_tells_how_far_it_has_got(tmp_path):
    """Rows of all tables while copying (ending at their total), then the index builds and
    the balance check; the copy stores every value as the book had it."""
    from arcli.store.copy import copy_book

    book = Arcli(str(tmp_path / "a.db"), tmp_path)
    book("init", "--no-config")
    book("import", "customers", str(EXAMPLES / "customers.csv"))
    book("import", "ledger", str(EXAMPLES / "ledger.csv"))
    with sqlite3.connect(book.db) as conn:  # a time on the second: the driver's own
        # conversion would store it without the microseconds SQLAlchemy writes
        conn.execute("UPDATE import_batches SET imported_at = '2026-11-22 09:30:00.000000'")
    source, target = open_store(book.db), open_store(str(tmp_path / "b.db"))
    seen: list[tuple[str, int, int]] = []
    counts, _ = copy_book(source, target, lambda *step: seen.append(step))
    source.dispose()
    target.dispose()
    rows = sum(count.source for count in counts)
    copying = [step for step in seen if step[0] == "copying"]
    assert rows > 10 and copying[-1] == ("copying", rows, rows)
    assert [done for _, done, _ in copying] == sorted(done for _, done, _ in copying)
    assert seen == [*copying, ("indexing", 0, 0), ("checking", 0, 0)]
    assert all(count.ok for count in counts)
    assert stored_values(str(tmp_path / "b.db")) == stored_values(book.db)
