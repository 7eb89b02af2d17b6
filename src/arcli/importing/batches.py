"""Import batches: which file (by SHA-256) brought which rows, when, and by whom."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select

from arcli.importing.readers import SourceFile
from arcli.store.schema import import_batches


def record_batch(conn: Connection, kind: str, source: SourceFile, rows_read: int, *,
                 mapping: str | None = None, user: str | None = None) -> int:
    """Insert the batch row and return its id (rows then point at it)."""
    result = conn.execute(insert(import_batches).values(
        kind=kind, file_name=source.name, sha256=source.sha256,
        imported_at=dt.datetime.now(dt.UTC), imported_by=user, mapping=mapping,
        rows_read=rows_read, rows_inserted=0, rows_unchanged=0, rows_replaced=0,
    ))
    return result.inserted_primary_key[0]


def find_batch(conn: Connection, kind: str, sha256: str) -> int | None:
    """The earliest batch that imported a file with these exact bytes, if any."""
    return conn.execute(
        select(import_batches.c.id)
        .where(import_batches.c.kind == kind, import_batches.c.sha256 == sha256)
        .order_by(import_batches.c.id).limit(1)
    ).scalar()
