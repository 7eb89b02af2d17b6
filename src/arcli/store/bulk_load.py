"""SQLite settings for one big load into an empty book: write each page once, check once.

In WAL mode every page a transaction writes goes to the WAL first and is copied into the
database by the checkpoint that follows the commit: a million-document first load wrote
its ~350 MB twice, and the commit (with its checkpoint) took 1.6 s. With a rollback
journal, pages that did not exist before the transaction are written once, straight into
the database file, and only the few pages the load changes are journaled (commit 0.25 s).
``synchronous=FULL`` goes with it, which is what a rollback journal needs to survive a
power cut.

Foreign keys are not checked row by row either (1.4 million lookups, ~1 s of the main
process): the loader checks what they would have checked once, at the end
(:func:`missing_customers`); the other references point at rows the same load wrote.

The settings are switched only where it is safe: on SQLite, before the connection has
begun writing, and only if SQLite grants the journal switch (it refuses at once while
another connection has the book open; the load then keeps WAL and row-by-row checks).
WAL mode and foreign keys come back when the block ends, committed or not; a process
killed in between leaves a hot journal, which the next connection rolls back (reports
open the book writable when a journal is there, see ``store/reader``); the next writing
connection asks for WAL again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection

from arcli.store.part_files import PartFiles


class BulkLoadSettings:
    """Switches one connection to bulk-load settings on request (at most once)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self.active = False
        #: worker-written files a first load copies in (SQLite only; see part_files)
        self.part_files = PartFiles(conn) if conn.dialect.name == "sqlite" else None

    def switch_on(self) -> bool:
        """Switch if safe; True if the bulk-load settings are now in force."""
        raw = self._driver_connection()
        if raw is None or raw.in_transaction or self.active:
            return self.active
        try:
            mode = raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:  # another connection has the book open
            return False
        if mode.lower() == "delete":
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("PRAGMA foreign_keys=OFF")
            self.active = True
        return self.active

    def restore(self) -> None:
        """Back to WAL and checked keys (after the transaction); never fails a finished load.

        Nor does it replace the error of a failed one: a connection interrupted in the
        middle of a statement (Ctrl-C) has been dropped by SQLAlchemy, and asking it for
        the settings would open a new one, which finds the book still locked; the next
        writing connection asks for WAL anyway."""
        if self.part_files is not None:
            self.part_files.detach_all()
        if not self.active:
            return
        self.active = False
        if self._conn.invalidated:
            return
        raw = self._driver_connection()
        with contextlib.suppress(sqlite3.Error):
            if raw.in_transaction:  # only after an error that left it open
                raw.rollback()
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA journal_mode=WAL").fetchone()
            raw.execute("PRAGMA synchronous=NORMAL")

    def _driver_connection(self) -> sqlite3.Connection | None:
        if self._conn.dialect.name != "sqlite":
            return None
        return self._conn.connection.driver_connection


@contextlib.contextmanager
def bulk_load_settings(conn: Connection) -> Iterator[BulkLoadSettings]:
    """A :class:`BulkLoadSettings` for the block; the usual settings return when it ends."""
    settings = BulkLoadSettings(conn)
    try:
        yield settings
    finally:
        settings.restore()


def missing_customers(conn: Connection, customer_ids: Iterable[str]) -> list[str]:
    """Those of ``customer_ids`` the book does not know (what the foreign key checks)."""
    known = {row[0] for row in conn.exec_driver_sql("SELECT id FROM customers")}
    return sorted(set(customer_ids) - known)
