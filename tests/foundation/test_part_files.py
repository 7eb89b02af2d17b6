"""A big first load on SQLite takes its rows from worker-written part files.

The part files must give the very book the marshalled path gives (same ids, same rows),
however the ranges are cut into files, and leave nothing attached to the connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys

import pytest

import arcli.importing.first_load as first_load
from arcli.store import bulk_load, open_store
from arcli.store.part_files import PartFile, PartFiles
from tests.conftest import ROOT, Arcli
from tests.foundation.test_first_load import use_spill

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


def _rows(db: str) -> dict[str, list[tuple]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                for table in ("documents", "allocations")}


def _book(tmp_path, name: str, customers, ledger) -> Arcli:
    book = Arcli(str(tmp_path / f"{name}.db"), tmp_path)
    book("init", "--no-config")
    book("import", "customers", str(customers))
    result = book("import", "ledger", str(ledger))
    assert result.exit_code == 0, result.output
    return book


@pytest.mark.parametrize("room", [1, 3, 20])
def test_part_files_give_the_marshalled_paths_book(tmp_path, monkeypatch, room):
    use_spill(monkeypatch)  # seven customer ranges, two workers
    customers, ledger = generate(tmp_path / "data", 2500, 30, seed=5)
    copied = []
    real_copy = PartFiles.copy

    def counted(self, path, table, *args):
        copied.append((path, table))
        return real_copy(self, path, table, *args)

    ranges = []
    real_blocks = first_load._blocks

    def blocks(count, files):
        ranges.append(count)
        return real_blocks(count, files)

    monkeypatch.setattr(PartFiles, "room", lambda self: room)
    monkeypatch.setattr(PartFiles, "copy", counted)
    monkeypatch.setattr(first_load, "_blocks", blocks)
    through_files = _rows(_book(tmp_path, "files", customers, ledger).db)
    assert ranges[0] > 3
    assert len({path for path, _table in copied}) == min(room, ranges[0])

    real_init = bulk_load.BulkLoadSettings.__init__

    def without_part_files(self, conn):
        real_init(self, conn)
        self.part_files = None

    monkeypatch.setattr(bulk_load.BulkLoadSettings, "__init__", without_part_files)
    marshalled = _rows(_book(tmp_path, "marshalled", customers, ledger).db)
    assert len(copied) == 2 * min(room, ranges[0])  # the second load copied nothing
    assert len(through_files["documents"]) == 2500
    assert len(through_files["allocations"]) > 500
    assert through_files == marshalled


def test_blocks_cut_ranges_evenly_into_at_most_the_files_allowed():
    assert first_load._blocks(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert first_load._blocks(2, 8) == [(0, 1), (1, 2)]
    assert first_load._blocks(5, 1) == [(0, 5)]
    for ranges in range(1, 40):
        for files in range(1, 12):
            blocks = first_load._blocks(ranges, files)
            assert len(blocks) == min(ranges, files)
            assert [i for first, end in blocks for i in range(first, end)] == \
                list(range(ranges))


def test_part_files_are_copied_in_order_and_detached_after_the_transaction(tmp_path):
    store = open_store(str(tmp_path / "book.db"))
    store.upgrade()
    paths = []
    for index in range(3):
        path = tmp_path / f"part{index}.db"
        with PartFile(path, {"t": ("a", "b")}) as part:
            part.add("t", [(index, f"{index}-{n}") for n in range(3)])
        assert part.rows == {"t": 3}
        paths.append(str(path))
    with store.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)")
        conn.commit()
        files = PartFiles(conn)
        room = files.room()
        assert room == conn.connection.driver_connection.getlimit(
            sqlite3.SQLITE_LIMIT_ATTACHED) - 2
        with conn.begin():
            for path in reversed(paths):
                files.copy(path, "t", ("a", "b"), ("a * 10", "b"))
            files.copy(paths[0], "t", ("a", "b"))  # the same file again: attached once
            assert files.room() == room - 3
        files.detach_all()
        attached = [name for _seq, name, _file in
                    conn.exec_driver_sql("PRAGMA database_list") if name != "temp"]
        assert attached == ["main"]
        assert conn.exec_driver_sql("SELECT a, b FROM t ORDER BY id").fetchall() == [
            (20, "2-0"), (20, "2-1"), (20, "2-2"), (10, "1-0"), (10, "1-1"), (10, "1-2"),
            (0, "0-0"), (0, "0-1"), (0, "0-2"), (0, "0-0"), (0, "0-1"), (0, "0-2")]
    store.dispose()


def test_a_failed_part_file_keeps_no_rows(tmp_path):
    path = tmp_path / "part.db"
    with pytest.raises(RuntimeError), PartFile(path, {"t": ("a",)}) as part:
        part.add("t", [(1,), (2,)])
        raise RuntimeError("the worker stops")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
