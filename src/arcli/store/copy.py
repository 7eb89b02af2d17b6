"""Moving a whole book between databases (SQLite <-> PostgreSQL), checked.

Tables are copied in dependency order in chunks, ids included, inside one transaction on
the target; PostgreSQL id sequences are then moved past the copied ids. The copy is only
accepted when every table has the same row count and every customer's balance per
currency is the same on both sides.

Secondary indexes are built once at the end, as a first bulk load does; into PostgreSQL
rows go with ``COPY`` and foreign keys are checked once at the end too; into SQLite they
are bound as SQLAlchemy binds them and inserted with a plain ``executemany`` (a book of 1M
documents into PostgreSQL: 60.5 → 16.1 s; back into SQLite: 32.4 → 15.1 s, see
bench/README.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select

from arcli.errors import ArcliError, UsageError
from arcli.ledger import balances
from arcli.progress import Progress, unreported
from arcli.store.bulk import insert_rows, move_id_sequence
from arcli.store.engine import Store
from arcli.store.indexes import deferred_indexes
from arcli.store.schema import metadata

_CHUNK = 5000
FAR_FUTURE = dt.date(9999, 12, 30)


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


class CopyMismatch(ArcliError):
    """Row counts or balances differ after the copy (the target was rolled back)."""


def _rows(store: Store, table) -> Iterator[list]:
    with store.connect() as conn:
        result = conn.execution_options(yield_per=_CHUNK).execute(
            select(table).order_by(*table.primary_key.columns))
        yield from result.partitions(_CHUNK)


def _insert(conn, table, chunk: list) -> None:
    if conn.dialect.name == "postgresql":
        insert_rows(conn, table.name, table.columns.keys(), chunk)
    else:
        insert_rows(conn, table.name, table.columns.keys(), _bound(conn.dialect, table, chunk))


def _bound(dialect, table, chunk: list) -> list[tuple]:
    """The rows' values as SQLAlchemy's own insert binds them for ``dialect`` (its type
    processors: on SQLite dates and times become the text it stores them as), for a plain
    ``executemany``. Through SQLAlchemy's insert with a dict per row, a 1M-document book
    took 27.5 s to copy from PostgreSQL into SQLite, now 15.1 s."""
    processors = [(index, process) for index, column in enumerate(table.columns)
                  if (process := column.type.dialect_impl(dialect).bind_processor(dialect))]
    rows = []
    for row in chunk:
        values = list(row)
        for index, process in processors:
            values[index] = process(values[index])
        rows.append(tuple(values))
    return rows


def copy_book(source: Store, target: Store,
              progress: Progress = unreported) -> tuple[list[TableCount], int]:
    """Copy every table; returns the counts and how many balances were compared.

    ``progress`` (see :mod:`arcli.progress`): "copying" counts rows of all tables,
    "indexing" and "checking" (the balances) have no steps."""
    source.check_schema()
    target.upgrade()
    with target.connect() as conn:
        for table in metadata.sorted_tables:
            if conn.execute(select(func.count()).select_from(table)).scalar():
                raise UsageError(f"target {target.display_url} is not empty ({table.name} has "
                                 "rows): copy into a new, empty database")
    counts = []
    tables = tuple(table.name for table in metadata.sorted_tables)
    total, done = sum(_count(source, table) for table in metadata.sorted_tables), 0
    with target.begin() as conn:
        with deferred_indexes(conn, enabled=True, tables=tables, unique_too=True,
                              foreign_keys=True):
            for table in metadata.sorted_tables:
                copied = 0
                for chunk in _rows(source, table):
                    _insert(conn, table, chunk)
                    copied += len(chunk)
                    done += len(chunk)
                    progress("copying", min(done, total), total)
                counts.append(TableCount(table.name, _count(source, table), copied))
            progress("indexing", 0, 0)
        if target.dialect == "postgresql":
            _move_sequences(conn)
        bad = [c for c in counts if not c.ok]
        if bad:
            raise CopyMismatch("row counts differ: " + ", ".join(
                f"{c.table} {c.source} -> {c.target}" for c in bad))
        progress("checking", 0, 0)
        with source.connect() as src:
            theirs = balances(src, FAR_FUTURE)
        ours = balances(conn, FAR_FUTURE)
        if theirs != ours:
            diff = sorted(set(theirs.items()) ^ set(ours.items()))[:5]
            raise CopyMismatch(f"balances differ after the copy, e.g. {diff}")
    return counts, len(theirs)


def _count(store: Store, table) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _move_sequences(conn) -> None:
    for table in metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.autoincrement or str(column.type) != "INTEGER":
            continue
        move_id_sequence(conn, table.name)
