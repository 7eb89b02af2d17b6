"""Opening a database and keeping its schema at the version this arcli expects."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from arcli.errors import (
    StoreError,
    busy_book_message,
    full_disk_message,
    lost_connection_message,
)
from arcli.store.location import BUSY_TIMEOUT_MS, store_url
from arcli.store.version import SCHEMA_HEAD, check_version

__all__ = ["Store", "open_store", "store_url"]

_MIGRATIONS = Path(__file__).with_name("migrations")




def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets a report read while cron writes; foreign keys are off by default in SQLite.

    The busy timeout comes first: the statements after it may already meet another
    process holding the book (a big first load), and must wait for it as documented.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    _ask_for_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The 2 MB default page cache thrashes once a book's indexes outgrow it (imports turn
    # super-linear); 64 MB keeps a million-document book's hot pages in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _ask_for_wal(cursor) -> None:
    """Switch the book to WAL unless it is in it, or cannot be switched right now.

    A big first load runs with a rollback journal (``store/bulk_load``) and holds its
    transaction open for the whole load. Asking for WAL then needs a lock the load holds
    while this connection holds one of its own, and SQLite refuses at once instead of
    waiting (waiting could deadlock): every other command failed with "database is
    locked" a second into the load. Such a connection keeps the load's journal and waits
    for the load like for any writer; the load asks for WAL again when it ends.
    """
    import sqlite3

    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    try:
        cursor.execute("PRAGMA journal_mode=WAL").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise


def begin_writing(conn: Connection) -> None:
    """Make the connection's transaction a writer from its start (SQLite).

    SQLite starts a transaction as a reader and upgrades it at its first write; if another
    connection is writing at that moment, the upgrade fails at once with "database is
    locked" (waiting could deadlock: the other writer may need what this reader holds).
    ``BEGIN IMMEDIATE`` takes the write lock first, waiting up to the busy timeout (30 s)
    for the other writer to finish, so a cron import and a `promise add` that meet
    simply run one after the other. PostgreSQL needs nothing of the sort.
    """
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.driver_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


class Store:
    """A handle on one book (database). Cheap to create; connects on first use."""

    def __init__(self, url: str):
        self.url = url
        self._engine: Engine | None = None
        self._pid = os.getpid()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        elif self._pid != os.getpid():
            # A forked worker (``--jobs``): start a pool of its own and leave the parent's
            # connections alone -- closing them here would close them for the parent.
            self._engine.dispose(close=False)
        self._pid = os.getpid()
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: for the few statements that differ."""
        return self.engine.dialect.name

    def _make_engine(self) -> Engine:
        try:
            engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open database {self.display_url}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return self.url

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """One writing transaction: committed when the block ends, rolled back on any
        exception; on SQLite it waits for another writer first (:func:`begin_writing`)."""
        try:
            with self.engine.begin() as conn:
                begin_writing(conn)
                yield conn
        except OperationalError as exc:
            raise self._database_error(exc) from None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (no implicit commit)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise self._database_error(exc) from None

    def _database_error(self, exc: OperationalError) -> StoreError:
        return StoreError(busy_book_message(exc) or lost_connection_message(exc)
                          or full_disk_message(exc)
                          or f"database error on {self.display_url}: {exc.orig}")

    # -- schema -------------------------------------------------------------------
    def schema_version(self) -> str | None:
        """The Alembic revision of the database, or None for an empty database."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            raise StoreError(busy_book_message(exc)
                             or f"cannot open database {self.display_url}: {exc.orig}") from None

    def check_schema(self) -> None:
        """Refuse to work on a database that is missing or at another schema version."""
        check_version(self.schema_version(), self.display_url)

    def upgrade(self) -> tuple[str | None, str]:
        """Create or migrate the schema to :data:`SCHEMA_HEAD`; idempotent."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        before = self.schema_version()
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, SCHEMA_HEAD

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def open_store(path_or_url: str) -> Store:
    """A :class:`Store` for ``--db`` (path or URL). Does not connect yet."""
    return Store(store_url(path_or_url))
