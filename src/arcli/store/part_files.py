"""Rows written by worker processes into SQLite files, copied into the book by SQLite.

Why: a big first load on SQLite used to send each customer range's rows from the worker
that cash-applied them back to the main process, which inserted them with
``executemany``: ~1.7 CPU-s of binding parameters for 1M documents, plus ~0.45 s of
unmarshalling, in the one process every range has to pass through, while both cores were
already busy. Now each worker writes its rows into an SQLite file of its own
(:class:`PartFile`, no journal, no sync: the file lives only as long as the import), and
the main process copies each file with ``INSERT ... SELECT`` (:meth:`PartFiles.copy`),
which SQLite runs in C: ~0.5 s for all of them.

A file read inside a transaction stays attached, and locked, until the transaction ends,
so SQLite's limit on attached databases (10 unless built otherwise) bounds how many files
one load can use (:meth:`PartFiles.room`); all are detached when the load ends,
committed or not. The copy keeps each file's row order, so documents get their ids in
the order the workers wrote them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

#: Attachments left free for whatever else the connection may attach.
_SPARE = 2


class PartFile:
    """One worker's rows, written into a new SQLite file: tables of the given columns,
    without types (SQLite keeps each value as written; the book's column affinities
    apply when it is copied in, exactly as when the values are bound)."""

    def __init__(self, path: Path, tables: dict[str, Sequence[str]]):
        self.rows = dict.fromkeys(tables, 0)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._inserts = {}
        for table, columns in tables.items():
            self._db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            self._inserts[table] = (f"INSERT INTO {table} VALUES "
                                    f"({', '.join('?' * len(columns))})")
        self._db.execute("BEGIN")

    def add(self, table: str, rows: list[tuple]) -> None:
        self._db.executemany(self._inserts[table], rows)
        self.rows[table] += len(rows)

    def __enter__(self) -> PartFile:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        self._db.close()  # after an error the file is dropped with the spill's folder


class PartFiles:
    """The part files attached to one connection for a load; see the module docstring."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._attached: dict[str, str] = {}  # path -> schema name

    def room(self) -> int:
        """How many more files this connection can attach (at least 1)."""
        raw = self._conn.connection.driver_connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED)
        attached = sum(1 for _seq, name, _file in raw.execute("PRAGMA database_list")
                       if name not in ("main", "temp"))
        return max(1, limit - attached - _SPARE)

    def copy(self, path: str, table: str, columns: Sequence[str],
             select: Sequence[str] | None = None, params: tuple = ()) -> None:
        """Copy a part file's ``table`` into the book's, in the file's row order.

        ``select`` gives an SQL expression per column where the values change on the way
        (ids moved by an offset, bound as ``params``)."""
        name = self._attach(path)
        self._conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {', '.join(select or columns)} FROM {name}.{table} ORDER BY rowid",
            params)

    def _attach(self, path: str) -> str:
        name = self._attached.get(path)
        if name is None:
            name = f"arcli_part_{len(self._attached)}"
            self._conn.exec_driver_sql(f"ATTACH DATABASE ? AS {name}", (path,))
            self._attached[path] = name
        return name

    def detach_all(self) -> None:
        """After the transaction: a file read in it cannot be detached before."""
        names, self._attached = list(self._attached.values()), {}
        if not names or self._conn.invalidated or self._conn.closed:
            return
        raw = self._conn.connection.driver_connection
        for name in names:
            with contextlib.suppress(sqlite3.Error):
                raw.execute(f"DETACH DATABASE {name}")
