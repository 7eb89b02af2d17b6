"""Read-only queries over a plain DB-API connection, for reports that must start fast.

Importing SQLAlchemy costs about 0.15 s, more than answering ``aging --detail`` for one
customer takes; so the ledger's read queries (balances, open items, aging) are written
as plain SQL against :class:`BookReader`. A reader wraps either a connection of its own
(:func:`open_reader`: ``sqlite3`` read-only, or psycopg) or a SQLAlchemy connection
(:func:`reader_for`), so the same queries serve quick reports and the batch commands
inside their transactions. Queries are written with ``?`` placeholders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from arcli.errors import StoreError, busy_book_message
from arcli.store import location
from arcli.store.location import masked, store_url
from arcli.store.version import check_version


class BookReader:
    """Runs read-only SQL on one backend and turns stored dates into ``date`` objects."""

    def __init__(self, execute: Callable[[str, Sequence], Iterable[tuple]], dialect: str):
        self._execute = execute
        self.dialect = dialect
        self._dates: dict[object, dt.date] = {}

    def rows(self, sql: str, params: Sequence = ()) -> Iterable[tuple]:
        """Result rows of ``sql`` (``?`` placeholders) with ``params``."""
        if self.dialect != "sqlite":
            sql = sql.replace("?", "%s")
        return self._execute(sql, tuple(params))

    def scalar(self, sql: str, params: Sequence = ()):
        for row in self.rows(sql, params):
            return row[0]
        return None

    def date(self, value) -> dt.date:
        """A stored date: ISO text on SQLite (parsed once per distinct value), else as is."""
        if isinstance(value, dt.date):
            return value
        found = self._dates.get(value)
        if found is None:
            found = self._dates[value] = dt.date.fromisoformat(value)
        return found

    def param(self, value: dt.date):
        """A date as a query parameter, compared the way the backend stores dates."""
        return value.isoformat() if self.dialect == "sqlite" else value


def reader_for(conn) -> BookReader:
    """A reader over a SQLAlchemy connection (or the reader itself, passed through)."""
    if isinstance(conn, BookReader):
        return conn
    return BookReader(conn.exec_driver_sql, conn.dialect.name)


def fetched(cursor, sql: str, params: Sequence | None = None,
            batch: int = 2000) -> Iterator[tuple]:
    """Rows of one query on a driver cursor, fetched in batches: memory stays flat when a
    report reads half a million open items, and the cursor is closed even when the caller
    stops early."""
    try:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        # A reader that stopped early (``arcli aging --detail | head``) may leave this
        # generator to be finalized after its connection has closed, when closing the
        # cursor raises; there is nothing left to release or report then.
        with contextlib.suppress(Exception):
            cursor.close()


@contextlib.contextmanager
def open_reader(location: str) -> Iterator[BookReader]:
    """A read-only reader on ``--db`` (path or URL), schema version checked."""
    url = store_url(location)
    shown = masked(url)
    if url.startswith("sqlite:///"):
        dbapi_conn, dialect = _sqlite(Path(url[len("sqlite:///"):]), shown), "sqlite"
    elif url.startswith("postgresql"):
        dbapi_conn, dialect = _postgres(url, shown), "postgresql"
    else:
        raise StoreError(f"unsupported database {shown}: use a SQLite path or postgresql://")
    try:
        reader = BookReader(lambda sql, params: fetched(dbapi_conn.cursor(), sql, params),
                            dialect)
        check_version(_version(reader, shown), shown)
        yield reader
    finally:
        dbapi_conn.close()


def _sqlite(path: Path, shown: str):
    import sqlite3

    if not path.is_file():
        raise StoreError(f"{shown} has no arcli schema: run `arcli init` first")
    # A bulk load killed mid-way (store/bulk_load: rollback journal) leaves a hot journal
    # that only a connection allowed to write can roll back; opened so, this one still
    # only reads. While a load is alive its journal is not hot, and reading just waits.
    mode = "rw" if path.with_name(f"{path.name}-journal").exists() else "ro"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True,
                               timeout=location.BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {shown}: {exc}") from None
    return conn


def _postgres(url: str, shown: str):
    try:
        import psycopg
    except ImportError:
        raise StoreError(f"cannot open database {shown}: psycopg is not installed "
                         "(pip install 'arcli[postgres]')") from None
    rest = url.split("://", 1)[1]
    try:
        return psycopg.connect(f"postgresql://{rest}", autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"cannot open database {shown}: {exc}") from None


def _version(reader: BookReader, shown: str) -> str | None:
    try:
        return reader.scalar("SELECT version_num FROM alembic_version")
    except Exception as exc:  # any driver error: a missing table means no schema
        if "alembic_version" in str(exc) or "no such table" in str(exc):
            return None
        raise StoreError(busy_book_message(exc)
                         or f"cannot read database {shown}: {exc}") from None
