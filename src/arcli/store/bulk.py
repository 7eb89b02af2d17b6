"""Bulk statements on the hot paths (imports, cash application), straight to the driver.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert for
million-row loads, so bulk inserts and updates go to the DB-API ``executemany`` with plain
tuples. The only backend differences are the placeholder and how dates are passed (SQLite
stores them as ISO text, the way SQLAlchemy's Date type does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence

from sqlalchemy import Connection

from arcli.store.reader import fetched


def placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def date_param(conn: Connection) -> Callable[[dt.date], object]:
    """How to pass a date: ISO text on SQLite (as SQLAlchemy stores it), a date elsewhere."""
    return dt.date.isoformat if conn.dialect.name == "sqlite" else (lambda d: d)


def date_value(conn: Connection) -> Callable[[object], dt.date]:
    """How to read a date column fetched with raw SQL."""
    if conn.dialect.name == "sqlite":
        return dt.date.fromisoformat
    return lambda d: d


def insert_rows(conn: Connection, table: str, columns: Sequence[str],
                rows: Iterable[tuple]) -> None:
    """Insert plain tuples: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    On PostgreSQL even a pipelined ``executemany`` is a statement per row; ``COPY``
    streams the rows in one statement (1M staged rows: see bench/README.md).
    """
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, rows)
        return
    mark = placeholder(conn)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    batch = list(rows)
    if batch:
        conn.exec_driver_sql(sql, batch)


def _copy_rows(conn: Connection, table: str, columns: Sequence[str],
               rows: Iterable[tuple]) -> None:
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def execute_many(conn: Connection, sql: str, rows: Sequence[tuple]) -> None:
    """Run ``sql`` (written with ``?`` placeholders) once per row."""
    if rows:
        if conn.dialect.name != "sqlite":
            sql = sql.replace("?", "%s")
        conn.exec_driver_sql(sql, list(rows))


def move_id_sequence(conn: Connection, table: str) -> None:
    """After rows were inserted with explicit ids, let PostgreSQL's next id follow them.

    SQLite's rowid allocation already continues after the largest id; PostgreSQL's serial
    sequence does not know about ids it did not hand out.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def stream_rows(conn: Connection, sql: str, size: int = 10_000) -> Iterator[tuple]:
    """Rows of a big query as plain tuples, fetched in batches and never all at once.

    Straight from the driver: SQLAlchemy's row-by-row fetching cost more than the query
    on a million staged rows. PostgreSQL gets a server-side cursor (its default cursor
    would load the whole result into memory first).
    """
    driver = conn.connection.driver_connection
    postgres = conn.dialect.name == "postgresql"
    cursor = driver.cursor(name="arcli_stream") if postgres else driver.cursor()
    return fetched(cursor, sql, batch=size)
